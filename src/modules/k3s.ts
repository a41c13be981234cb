/**
 * K3s on a node, server or agent: the config file, the pinned binary version, and the service.
 *
 * The decision (plan) is the product here; k3s-ansible restarts K3s on every run (its issues #264, #564):
 *   - version differs or not installed -> install (the install script (re)starts the service itself);
 *   - same version, config changed     -> restart;
 *   - same version and config, stopped -> start;
 *   - otherwise                        -> nothing.
 * The token lives in the config file (mode 0600): K3s reads it at every start, so it must be on the node;
 * it never appears in a command line or an environment variable.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import type { Change, ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { writeFileAtomic } from "./remote-file.js";

export const K3S_CONFIG = "/etc/rancher/k3s/config.yaml";
export const K3S_BIN = "/usr/local/bin/k3s";
/** Where the install script is kept on the node (air-gapped), so a reinstall needs no upload of it. */
export const K3S_INSTALL_SCRIPT = "/var/lib/powerstack/k3s-install.sh";
/** The official install script; its contract is INSTALL_K3S_* variables (see REFERENCE.md). */
export const K3S_INSTALL_URL = "https://get.k3s.io";

export type K3sInstallSource =
  | { mode: "online" }
  /** `dir` holds `k3s`, `install.sh` and `sha256sum-amd64.txt` (the release's checksum file). */
  | { mode: "airgap"; dir: string };

export interface K3sParams {
  kind: "server" | "agent";
  version: string;
  /** Rendered /etc/rancher/k3s/config.yaml. */
  config: string;
  source: K3sInstallSource;
}

export interface K3sSeen {
  installedVersion?: string;
  config?: string;
  active: boolean;
}

export const unitName = (kind: K3sParams["kind"]) => (kind === "server" ? "k3s" : "k3s-agent");

export function parseK3sVersion(line: string): string | undefined {
  return /k3s version (v\S+)/.exec(line)?.[1];
}

/** The install command: only INSTALL_K3S_* variables, never the token (it is in the config file). */
export function installCommand(p: K3sParams): string {
  const env = `INSTALL_K3S_VERSION=${shq(p.version)} INSTALL_K3S_EXEC=${p.kind}`;
  if (p.source.mode === "online") return `curl -sfL ${K3S_INSTALL_URL} | ${env} sh -s -`;
  return `INSTALL_K3S_SKIP_DOWNLOAD=true ${env} sh ${K3S_INSTALL_SCRIPT}`;
}

/** Read the air-gap artifacts and check the binary against the release checksum file, before any upload. */
export function loadAirgapArtifacts(dir: string): { binary: Buffer; script: Buffer; sha256: string } {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name));
    } catch {
      throw new InputError(
        `air-gapped install: ${join(dir, name)} is missing`,
        "put the release's k3s, install.sh and sha256sum-amd64.txt in cluster.k3s.artifacts_dir",
      );
    }
  };
  const binary = read("k3s");
  const script = read("install.sh");
  const sums = read("sha256sum-amd64.txt").toString("utf8");
  const expected = /^([0-9a-f]{64})\s+\*?k3s$/m.exec(sums)?.[1];
  if (!expected)
    throw new InputError(
      `air-gapped install: ${join(dir, "sha256sum-amd64.txt")} has no line for \`k3s\``,
      "use the checksum file of the same K3s release",
    );
  const actual = createHash("sha256").update(binary).digest("hex");
  if (actual !== expected) {
    throw new InputError(
      `air-gapped install: ${join(dir, "k3s")} has sha256 ${actual}, but the checksum file says ${expected}`,
      "download the binary again; never install a binary that fails its checksum",
    );
  }
  return { binary, script, sha256: expected };
}

export const k3s: ShellModule<K3sParams, K3sSeen> = {
  name: "k3s",
  probe: (p) => ({
    command: [
      `echo "version=$(${K3S_BIN} --version 2>/dev/null | head -n1)"`,
      `echo "config=$(base64 -w0 ${K3S_CONFIG} 2>/dev/null)"`,
      `echo "active=$(systemctl is-active ${unitName(p.kind)} 2>/dev/null)"`,
    ].join("; "),
    parse(stdout) {
      const v = Object.fromEntries(
        stdout.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
      );
      return {
        installedVersion: parseK3sVersion(v.version ?? ""),
        config: v.config ? Buffer.from(v.config, "base64").toString("utf8") : undefined,
        active: v.active === "active",
      };
    },
  }),
  plan(seen, p) {
    const changes: Change[] = [];
    const configChanged = seen.config !== p.config;
    if (configChanged)
      changes.push({
        summary: `write ${K3S_CONFIG}`,
        diff: { path: K3S_CONFIG, before: seen.config ?? "", after: p.config },
      });
    if (seen.installedVersion !== p.version) {
      changes.push({
        summary: `install K3s ${p.version} (${p.kind}, ${p.source.mode})${seen.installedVersion ? `, replacing ${seen.installedVersion}` : ""}`,
      });
    } else if (configChanged) {
      changes.push({ summary: `restart ${unitName(p.kind)} (config changed)` });
    } else if (!seen.active) {
      changes.push({ summary: `start ${unitName(p.kind)}` });
    }
    return changes;
  },
  async apply({ host }, p, changes) {
    if (changes.some((c) => c.diff)) {
      await run(host, `mkdir -p ${shq(K3S_CONFIG.replace(/\/[^/]+$/, ""))}`);
      await writeFileAtomic(host, K3S_CONFIG, p.config, { mode: "0600", owner: "root", group: "root" });
    }
    const unit = unitName(p.kind);
    if (changes.some((c) => c.summary.startsWith("install"))) {
      if (p.source.mode === "airgap") {
        const a = loadAirgapArtifacts(p.source.dir);
        await writeFileAtomic(host, K3S_BIN, a.binary, { mode: "0755", owner: "root", group: "root" });
        // Check what landed, not only what we sent.
        await run(host, `echo ${shq(`${a.sha256}  ${K3S_BIN}`)} | sha256sum -c --quiet -`);
        await run(host, `mkdir -p ${shq(K3S_INSTALL_SCRIPT.replace(/\/[^/]+$/, ""))}`);
        await writeFileAtomic(host, K3S_INSTALL_SCRIPT, a.script, {
          mode: "0700",
          owner: "root",
          group: "root",
        });
      }
      await run(host, installCommand(p), { timeoutSec: 900 });
    } else if (changes.some((c) => c.summary.startsWith("restart"))) {
      await run(host, `systemctl restart ${unit}`, { timeoutSec: 300 });
    } else if (changes.some((c) => c.summary.startsWith("start"))) {
      await run(host, `systemctl start ${unit}`, { timeoutSec: 300 });
    }
  },
};
