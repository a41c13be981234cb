/**
 * K3s on a node, server or agent: the config file, the pinned binary version, and the service.
 *
 * The decision (plan) is the product here; k3s-ansible restarts K3s on every run (its issues #264, #564):
 *   - version differs or not installed -> install (the install script (re)starts the service itself);
 *   - same version, config changed     -> restart;
 *   - same version and config, stopped -> start;
 *   - otherwise                        -> nothing.
 * Air-gapped, the node's images tarball (agent/images) is uploaded when its recorded digest differs,
 * without a restart of its own (K3s imports that directory when it starts).
 * The token lives in the config file (mode 0600): K3s reads it at every start, so it must be on the node;
 * it never appears in a command line or an environment variable.
 *
 * Why INSTALL_K3S_FORCE_RESTART=true on a version change. Read in k3s-io/k3s install.sh (the copy in our
 * reference index is commit 0136cf258954a458da1404858396342724b93d24; the v1.31.4+k3s1 tag could not be
 * fetched whole, and get.k3s.io serves the master script anyway):
 *   - setup_env() ends with `PRE_INSTALL_HASHES=$(get_installed_hashes)`;
 *   - get_installed_hashes() is `sha256sum ${BIN_DIR}/k3s ${FILE_K3S_SERVICE} ${FILE_K3S_ENV}`: the binary,
 *     the unit and its .env file; NOT /etc/rancher/k3s/config.yaml;
 *   - download_and_verify() returns at once when can_skip_download_binary (INSTALL_K3S_SKIP_DOWNLOAD=true),
 *     after verify_k3s_is_executable: the binary must already be in place, so we put it there first;
 *   - service_enable_and_start() compares POST_INSTALL_HASHES with PRE_INSTALL_HASHES and, when equal and
 *     `"${INSTALL_K3S_FORCE_RESTART}" != true`, logs 'No change detected so skipping service start' and
 *     returns before systemd_start (`systemctl restart ${SYSTEM_NAME}`).
 * Air-gapped, the new binary is in place BEFORE install.sh hashes it and the unit and env file come out
 * identical, so without the flag the old version keeps running. Online the download changes the binary
 * hash, but a version change together with a config change must restart too, and saying so is explicit.
 * A fresh install needs no flag (no unit file before: the hashes differ).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineFact, requireSuccess } from "../engine/fact.js";
import { InputError, PowerstackError } from "../errors.js";
import type { FileDiff, Module } from "../engine/types.js";
import { file, type RemoteFile } from "../facts/file.js";
import {
  K3S_BIN,
  K3S_CONFIG,
  K3S_IMAGES_DIR,
  k3sUnit,
  k3sVersion,
  parseK3sVersion,
  type K3sKind,
} from "../facts/k3s.js";
import { unit, type UnitState } from "../facts/system.js";
import { vaultSecret, type SecretStore } from "../facts/vault.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { progressLines, recordedDigestCommand, uploadIfChanged, verifyLocal } from "../transport/upload.js";
import { writeFileAtomic } from "./remote-file.js";

export { K3S_BIN, K3S_CONFIG, K3S_IMAGES_DIR, parseK3sVersion };
/** Where the install script is kept on the node (air-gapped), so a reinstall needs no upload of it. */
export const K3S_INSTALL_SCRIPT = "/var/lib/powerstack/k3s-install.sh";
/** The official install script; its contract is INSTALL_K3S_* variables (see REFERENCE.md). */
export const K3S_INSTALL_URL = "https://get.k3s.io";

/** The architectures whose air-gap release files we know by name. */
export type K3sArch = "amd64" | "arm64";

/** One release file on the operator's machine and where it goes on the node. */
export interface AirgapFile {
  /** Release asset name, e.g. `k3s-arm64`. */
  name: string;
  /** Path on the operator's machine. */
  local: string;
  /** Destination on the node. */
  remote: string;
  /** From the release's checksum file (absent for install.sh, which is not in it). */
  sha256?: string;
}

export interface AirgapArtifacts {
  arch: K3sArch;
  binary: AirgapFile & { sha256: string };
  images: AirgapFile & { sha256: string };
  script: AirgapFile;
}

export type K3sInstallSource =
  | { mode: "online" }
  /** `dir` is cluster.k3s.artifacts_dir; `artifacts` the files in it for this node's arch (airgapArtifacts). */
  | { mode: "airgap"; dir: string; artifacts: AirgapArtifacts };

export interface K3sParams {
  kind: K3sKind;
  version: string;
  /** Renders /etc/rancher/k3s/config.yaml with the cluster token (read from the vault when planning). */
  config: (token: string) => string;
  /** Where the token is: the k3s-token task before this one stores it there. */
  token: { name: string; vault: SecretStore };
  source: K3sInstallSource;
}

export interface K3sSeen {
  installedVersion: string | undefined;
  config: RemoteFile;
  unit: UnitState;
  /** Air-gapped: the recorded sha256 of the images tarball on the node, when it still matches the file. */
  images: string | undefined;
  token: string | undefined;
}

export type K3sAction =
  | { kind: "write-config"; diff: FileDiff; sensitive: true }
  | { kind: "upload-images"; file: AirgapFile & { sha256: string } }
  | { kind: "install"; replacing?: string }
  | { kind: "restart" | "start" };

/** The sha256 recorded when an artifact was uploaded, while the file still matches it (transport/upload.ts). */
export const recordedDigest = defineFact<string | undefined, string>({
  name: "recorded-digest",
  key: (remote) => remote,
  command: (remote) => recordedDigestCommand(remote),
  parse(out, remote) {
    requireSuccess("recorded-digest", `the upload record of ${remote}`, out);
    return out.stdout.trim() || undefined;
  },
});

/** Shown instead of the token while planning in --check, before the token task has stored one. */
const TOKEN_NOT_YET = "(generated when applied)";

/**
 * The install command: only INSTALL_K3S_* variables, never the token (it is in the config file).
 * `forceRestart` on a version change: install.sh would otherwise skip the restart (see the top comment).
 */
export function installCommand(
  p: Pick<K3sParams, "kind" | "version" | "source">,
  opts: { forceRestart?: boolean } = {},
): string {
  const env =
    `INSTALL_K3S_VERSION=${shq(p.version)} INSTALL_K3S_EXEC=${p.kind}` +
    (opts.forceRestart ? " INSTALL_K3S_FORCE_RESTART=true" : "");
  if (p.source.mode === "online") return `curl -sfL ${K3S_INSTALL_URL} | ${env} sh -s -`;
  return `INSTALL_K3S_SKIP_DOWNLOAD=true ${env} sh ${K3S_INSTALL_SCRIPT}`;
}

/** `uname -m` (facts.arch) -> the arch in K3s' release file names, as install.sh's setup_verify_arch maps it. */
export function k3sArch(machine: string): K3sArch {
  const arch = ({ x86_64: "amd64", amd64: "amd64", aarch64: "arm64", arm64: "arm64" } as const)[
    machine as "x86_64"
  ];
  if (!arch)
    throw new InputError(
      `air-gapped install: no K3s air-gap files known for architecture \`${machine || "unknown"}\``,
      "air-gapped installs support amd64 (x86_64) and arm64 (aarch64) nodes; use install: online for others",
    );
  return arch;
}

/**
 * The release's file names for one arch. install.sh's download_hash() reads `sha256sum-${ARCH}.txt` and
 * greps ` k3s${SUFFIX}$`, SUFFIX being empty on amd64 and `-arm64` on arm64; the images tarball is
 * published as .tar.zst, .tar.gz and .tar (K3s imports any of them from the images directory).
 */
export function airgapNames(arch: K3sArch) {
  return {
    binary: arch === "amd64" ? "k3s" : `k3s-${arch}`,
    images: [".tar.zst", ".tar.gz", ".tar"].map((ext) => `k3s-airgap-images-${arch}${ext}`),
    sums: `sha256sum-${arch}.txt`,
    script: "install.sh",
  };
}

/** The digest a `sha256sum`-format file gives for `name` (`<hex>  name` or `<hex> *name`). */
export function checksumFor(sums: string, name: string): string | undefined {
  for (const line of sums.split("\n")) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (m && (m[2] === name || m[2]!.endsWith(`/${name}`))) return m[1]!.toLowerCase();
  }
  return undefined;
}

/**
 * Find this arch's files in the artifacts directory and their digests in the checksum file. Cheap (no
 * hashing of the big files: that happens once, before an upload); every missing piece is named with its fix.
 */
export function airgapArtifacts(dir: string, arch: K3sArch, version: string): AirgapArtifacts {
  const names = airgapNames(arch);
  const release = `https://github.com/k3s-io/k3s/releases/tag/${version.replace("+", "%2B")}`;
  const list = `${names.binary}, ${names.images[0]} (or .tar.gz), ${names.sums} from ${release}, and install.sh from ${K3S_INSTALL_URL}`;
  if (!existsSync(dir))
    throw new InputError(
      `air-gapped install: cluster.k3s.artifacts_dir ${dir} does not exist`,
      `create it and put the ${arch} files in it: ${list}`,
    );
  const need = (name: string, what: string) => {
    const path = join(dir, name);
    if (!existsSync(path))
      throw new InputError(
        `air-gapped install: ${path} is missing (${what} for ${arch} nodes)`,
        `put the release's ${name} in cluster.k3s.artifacts_dir; it needs ${list}`,
      );
    return path;
  };
  const sumsPath = need(names.sums, "the checksum file");
  const sums = readFileSync(sumsPath, "utf8");
  const digest = (name: string) => {
    const d = checksumFor(sums, name);
    if (!d)
      throw new InputError(
        `air-gapped install: ${sumsPath} has no line for \`${name}\``,
        `use the checksum file of the same K3s release (${version}) and architecture (${arch})`,
      );
    return d;
  };
  const binaryPath = need(names.binary, "the K3s binary");
  const imagesName = names.images.find((n) => existsSync(join(dir, n)));
  if (!imagesName)
    throw new InputError(
      `air-gapped install: no images tarball for ${arch} in ${dir} (looked for ${names.images.join(", ")})`,
      `put the release's ${names.images[0]} (or .tar.gz) in cluster.k3s.artifacts_dir; it needs ${list}`,
    );
  return {
    arch,
    binary: { name: names.binary, local: binaryPath, remote: K3S_BIN, sha256: digest(names.binary) },
    images: {
      name: imagesName,
      local: join(dir, imagesName),
      remote: `${K3S_IMAGES_DIR}/${imagesName}`,
      sha256: digest(imagesName),
    },
    script: {
      name: names.script,
      local: need(names.script, "K3s' install script"),
      remote: K3S_INSTALL_SCRIPT,
    },
  };
}

export const k3s: Module<K3sParams, K3sSeen, K3sAction> = {
  name: "k3s",
  reads: (p) => ({
    installedVersion: k3sVersion.of(),
    config: file.of(K3S_CONFIG),
    unit: unit.of(k3sUnit(p.kind)),
    // Air-gapped: the images tarball's recorded digest (a stat, never a sha256 of 200 MB per run).
    images: p.source.mode === "airgap" ? recordedDigest.of(p.source.artifacts.images.remote) : undefined,
    token: vaultSecret.of(p.token),
  }),
  plan(seen, p) {
    const actions: K3sAction[] = [];
    const config = p.config(seen.token ?? TOKEN_NOT_YET);
    const configChanged = seen.config.content !== config;
    if (configChanged)
      actions.push({
        kind: "write-config",
        diff: { path: K3S_CONFIG, before: seen.config.content ?? "", after: config },
        // The config holds the cluster token (see the top comment), on both sides of the diff.
        sensitive: true,
      });
    // Images before the install: K3s imports them when it (re)starts.
    if (p.source.mode === "airgap" && seen.images !== p.source.artifacts.images.sha256)
      actions.push({ kind: "upload-images", file: p.source.artifacts.images });
    if (seen.installedVersion !== p.version)
      actions.push({
        kind: "install",
        ...(seen.installedVersion ? { replacing: seen.installedVersion } : {}),
      });
    else if (configChanged) actions.push({ kind: "restart" });
    else if (seen.unit.active !== "active") actions.push({ kind: "start" });
    return actions;
  },
  describe(a, p) {
    switch (a.kind) {
      case "write-config":
        return `write ${K3S_CONFIG}`;
      case "upload-images":
        return `upload ${a.file.name} to ${K3S_IMAGES_DIR}`;
      case "install":
        return `install K3s ${p.version} (${p.kind}, ${p.source.mode})${a.replacing ? `, replacing ${a.replacing}` : ""}`;
      case "restart":
        return `restart ${k3sUnit(p.kind)} (config changed)`;
      case "start":
        return `start ${k3sUnit(p.kind)}`;
    }
  },
  // Installing or starting K3s creates files, units, mounts and a cluster: every fact may have changed.
  touches: (a) => (a.kind === "write-config" ? [file.of(K3S_CONFIG)] : "all"),
  async apply({ host, progress }, actions, p) {
    const airgap = p.source.mode === "airgap" ? p.source.artifacts : undefined;
    // Refuse a corrupt download before anything reaches the node (the config included).
    for (const a of actions) {
      if (a.kind === "upload-images") await verifyLocal(a.file.local, a.file.sha256);
      if (a.kind === "install" && airgap) await verifyLocal(airgap.binary.local, airgap.binary.sha256);
    }
    const root = { owner: "root", group: "root" };
    for (const a of actions) {
      switch (a.kind) {
        case "write-config":
          if (a.diff.after.includes(TOKEN_NOT_YET))
            throw new PowerstackError(
              `the vault has no cluster token (${p.token.name}) to configure K3s with`,
              undefined,
              "run the k3s-server role first: its token task stores the token in the vault",
            );
          await run(host, `mkdir -p ${shq(K3S_CONFIG.replace(/\/[^/]+$/, ""))}`);
          await writeFileAtomic(host, K3S_CONFIG, a.diff.after, { mode: "0600", ...root });
          break;
        case "upload-images":
          await uploadIfChanged(host, a.file.local, a.file.remote, {
            ...root,
            sha256: a.file.sha256,
            mode: "0644",
            onProgress: progressLines(a.file.name, progress),
          });
          break;
        case "install":
          if (airgap) {
            await uploadIfChanged(host, airgap.binary.local, K3S_BIN, {
              ...root,
              sha256: airgap.binary.sha256,
              mode: "0755",
              onProgress: progressLines(airgap.binary.name, progress),
            });
            await uploadIfChanged(host, airgap.script.local, K3S_INSTALL_SCRIPT, { ...root, mode: "0700" });
          }
          progress?.(`install.sh (${p.version})`);
          await run(host, installCommand(p, { forceRestart: a.replacing !== undefined }), {
            timeoutSec: 900,
          });
          break;
        case "restart":
        case "start":
          await run(host, `systemctl ${a.kind} ${k3sUnit(p.kind)}`, { timeoutSec: 300 });
      }
    }
  },
};
