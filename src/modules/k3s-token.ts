/**
 * The cluster token in the vault: kept when the vault has it; else adopted from a server that already
 * runs (a vault that lost its token must not split the cluster, k3s-ansible #294); else generated once.
 * Either way it is stored in the vault before K3s is configured with it, so every later run and every
 * agent uses the same one. The token itself is never shown: the action says only where it came from.
 */
import { randomBytes } from "node:crypto";
import type { Module } from "../engine/types.js";
import { file, type RemoteFile } from "../facts/file.js";
import { vaultSecret, type SecretStore } from "../facts/vault.js";

export const SERVER_TOKEN_FILE = "/var/lib/rancher/k3s/server/token";

export interface K3sTokenParams {
  /** The vault key (cluster.k3s.token_secret). */
  name: string;
  vault: SecretStore;
}

interface TokenSeen {
  stored: string | undefined;
  onServer: RemoteFile;
}

export type K3sTokenAction = { kind: "adopt"; token: string } | { kind: "generate" };

export const k3sToken: Module<K3sTokenParams, TokenSeen, K3sTokenAction> = {
  name: "k3s-token",
  reads: (p) => ({ stored: vaultSecret.of(p), onServer: file.of(SERVER_TOKEN_FILE) }),
  plan({ stored, onServer }) {
    if (stored !== undefined) return [];
    const running = onServer.content?.trim();
    return [running ? { kind: "adopt", token: running } : { kind: "generate" }];
  },
  describe: (a, p) =>
    a.kind === "adopt"
      ? `store the running server's token in the vault as ${p.name}`
      : `generate a cluster token into the vault as ${p.name}`,
  touches: (_a, p) => [vaultSecret.of(p)],
  async apply(_ctx, actions, p) {
    for (const a of actions)
      await p.vault.store(p.name, a.kind === "adopt" ? a.token : randomBytes(32).toString("hex"));
  },
};
