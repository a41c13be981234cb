/**
 * The Helm CLI on the control node at a pinned version: from the release tarball online, or from the
 * artifacts directory when air-gapped: checked against its .sha256sum file before anything is sent,
 * uploaded (SFTP, with progress) to the node only when the node's recorded copy differs, and kept there so
 * a reinstall needs no second upload.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import { defineFact, requireSuccess } from "../engine/fact.js";
import type { Module } from "../engine/types.js";
import { clusterRead } from "./cluster-read.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { progressLines, uploadIfChanged } from "../transport/upload.js";

export const HELM_BIN = "/usr/local/bin/helm";
/** Helm's release download host (its documented install source). */
export const HELM_DOWNLOAD = "https://get.helm.sh";
/** Air-gapped: where the release tarball is kept on the node. */
export const HELM_TARBALL_DIR = "/var/lib/powerstack/helm";

export interface HelmParams {
  version: string;
  /** Helm's arch name: amd64, arm64. */
  arch: string;
  /** Air-gapped: directory with helm-<version>-linux-<arch>.tar.gz and its .sha256sum. */
  artifactsDir?: string;
}

export const helmTarball = (p: HelmParams) => `helm-${p.version}-linux-${p.arch}.tar.gz`;

/** uname -m -> the arch in Helm's (and K3s') file names. */
export function helmArch(machine: string): string {
  return ({ x86_64: "amd64", aarch64: "arm64", armv7l: "arm" } as Record<string, string>)[machine] ?? machine;
}

/** The air-gapped tarball and the digest its .sha256sum file gives (no hashing here: see uploadIfChanged). */
export function helmArtifact(p: HelmParams): { local: string; sha256: string } {
  const name = helmTarball(p);
  const local = join(p.artifactsDir!, name);
  const fix = `download ${name} and ${name}.sha256sum from ${HELM_DOWNLOAD} into cluster.k3s.artifacts_dir`;
  for (const f of [local, `${local}.sha256sum`])
    if (!existsSync(f))
      throw new InputError(`air-gapped install: ${f} is missing (Helm ${p.version} for ${p.arch})`, fix);
  const sha256 = /^([0-9a-f]{64})\b/i.exec(readFileSync(`${local}.sha256sum`, "utf8").trim())?.[1];
  if (!sha256) throw new InputError(`air-gapped install: ${local}.sha256sum holds no sha256`, fix);
  return { local, sha256: sha256.toLowerCase() };
}

/** The installed Helm's version; undefined when there is no Helm binary. */
export const helmVersion = defineFact<string | undefined>({
  name: "helm-version",
  command: () =>
    `if [ -x ${HELM_BIN} ]; then ${HELM_BIN} version --template '{{.Version}}'; else echo '@@absent'; fi`,
  parse(out) {
    requireSuccess("helm-version", `${HELM_BIN} version`, out);
    const v = out.stdout.trim();
    return v === "@@absent" ? undefined : v;
  },
});

export const helmBinary: Module<
  HelmParams,
  { installed: string | undefined },
  { kind: "install"; replacing?: string }
> = {
  name: "helm-binary",
  reads: () => ({ installed: helmVersion.of() }),
  plan: ({ installed }, p) =>
    installed === p.version ? [] : [{ kind: "install", ...(installed ? { replacing: installed } : {}) }],
  describe: (a, p) => `install Helm ${p.version}${a.replacing ? ` (replacing ${a.replacing})` : ""}`,
  touches: () => [helmVersion, clusterRead],
  async apply({ host, progress }, _actions, p) {
    const dir = `/tmp/powerstack-helm-${p.version}`;
    const unpack = (from = "") =>
      `rm -rf ${shq(dir)} && mkdir -p ${shq(dir)} && tar -xz -C ${shq(dir)}${from} && install -m 0755 ${shq(`${dir}/linux-${p.arch}/helm`)} ${HELM_BIN} && rm -rf ${shq(dir)}`;
    if (p.artifactsDir) {
      const a = helmArtifact(p);
      const remote = `${HELM_TARBALL_DIR}/${helmTarball(p)}`;
      await uploadIfChanged(host, a.local, remote, {
        sha256: a.sha256,
        mode: "0644",
        owner: "root",
        group: "root",
        onProgress: progressLines(helmTarball(p), progress),
      });
      await run(host, unpack(` -f ${shq(remote)}`), { timeoutSec: 600 });
    } else
      await run(host, `curl -fsSL ${shq(`${HELM_DOWNLOAD}/${helmTarball(p)}`)} | { ${unpack()}; }`, {
        timeoutSec: 600,
      });
  },
};
