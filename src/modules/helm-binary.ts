/**
 * The Helm CLI on the control node at a pinned version: from the release tarball online, or from the
 * artifacts directory (checked against its .sha256sum file) when air-gapped.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import type { ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export const HELM_BIN = "/usr/local/bin/helm";
/** Helm's release download host (its documented install source). */
export const HELM_DOWNLOAD = "https://get.helm.sh";

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

export function loadHelmTarball(p: HelmParams): Buffer {
  const file = join(p.artifactsDir!, helmTarball(p));
  let data: Buffer;
  let sums: string;
  try {
    data = readFileSync(file);
    sums = readFileSync(`${file}.sha256sum`, "utf8");
  } catch {
    throw new InputError(
      `air-gapped install: ${file} or its .sha256sum is missing`,
      `put both in cluster.k3s.artifacts_dir`,
    );
  }
  const expected = /^([0-9a-f]{64})/.exec(sums.trim())?.[1];
  const actual = createHash("sha256").update(data).digest("hex");
  if (actual !== expected)
    throw new InputError(
      `air-gapped install: ${file} has sha256 ${actual}, expected ${expected}`,
      "download it again",
    );
  return data;
}

export const helmBinary: ShellModule<HelmParams, string | undefined> = {
  name: "helm-binary",
  probe: () => ({
    command: `${HELM_BIN} version --template '{{.Version}}' 2>/dev/null`,
    parse: (out) => out.trim() || undefined,
  }),
  plan: (installed, p) =>
    installed === p.version
      ? []
      : [{ summary: `install Helm ${p.version}${installed ? ` (replacing ${installed})` : ""}` }],
  async apply({ host }, p) {
    const dir = `/tmp/powerstack-helm-${p.version}`;
    const unpack = `rm -rf ${shq(dir)} && mkdir -p ${shq(dir)} && tar -xz -C ${shq(dir)} && install -m 0755 ${shq(`${dir}/linux-${p.arch}/helm`)} ${HELM_BIN} && rm -rf ${shq(dir)}`;
    if (p.artifactsDir) await run(host, unpack, { stdin: loadHelmTarball(p), timeoutSec: 600 });
    else
      await run(host, `curl -fsSL ${shq(`${HELM_DOWNLOAD}/${helmTarball(p)}`)} | { ${unpack}; }`, {
        timeoutSec: 600,
      });
  },
};
