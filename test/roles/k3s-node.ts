/**
 * A K3s node's state as the boundary tests describe it (version, config file, service running, images
 * recorded) and as the k3s module sees it through its facts (src/modules/k3s.ts K3sSeen).
 */
import type { SecretStore } from "../../src/facts/vault.js";
import type { K3sSeen } from "../../src/modules/k3s.js";

export interface K3sNode {
  installedVersion?: string;
  /** Content of /etc/rancher/k3s/config.yaml; undefined: no file. */
  config?: string;
  active: boolean;
  /** Air-gapped: the images tarball's recorded sha256. */
  images?: string;
}

/** What the k3s module's facts read on such a node, with `token` in the vault. */
export function seenOf(node: K3sNode, token: string | undefined): K3sSeen {
  const installed = node.installedVersion !== undefined;
  return {
    installedVersion: node.installedVersion,
    config:
      node.config === undefined
        ? { exists: false }
        : { exists: true, kind: "regular file", mode: "0600", content: node.config },
    unit: {
      exists: installed,
      loadState: installed ? "loaded" : "not-found",
      enabled: installed ? "enabled" : "",
      active: node.active ? "active" : "inactive",
      sub: node.active ? "running" : "dead",
      needReload: false,
    },
    images: node.images,
    token,
  };
}

/** A vault holding these secrets, recording what is stored into it. */
export function memoryVault(secrets: Record<string, string> = {}): SecretStore & {
  stored: Record<string, string>;
} {
  const stored: Record<string, string> = {};
  return {
    stored,
    has: (n) => n in secrets,
    get: (n) => {
      if (!(n in secrets)) throw new Error(`no secret ${n} in the test vault`);
      return secrets[n]!;
    },
    store: async (n, v) => {
      secrets[n] = v;
      stored[n] = v;
    },
  };
}
