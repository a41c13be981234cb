/**
 * The inventory being built: plain data shaped exactly like the YAML file (snake_case keys), so a schema
 * key path such as `nodes[1].bmc.address` addresses both an answer and the loader's problem about it.
 * Secret VALUES never enter it: they are kept apart in `Secrets` and only ever written to the vault.
 */
import type { Path } from "../inventory/schema-walker.js";

export type Raw = Record<string, unknown>;

export interface Draft {
  /** The inventory document as plain data. */
  doc: Raw;
  secrets: Secrets;
  /**
   * Keys whose imported value could not be taken over (Jinja, `!vault`), by key path (`nodes[1].internal_ip`)
   * or secret (`secret:k3sToken`), with the reason: these are never filled from a default silently.
   */
  mustEnter: Map<string, string>;
  /** The Ansible inventory this draft was imported from: then only what it lacks is asked. */
  importedFrom?: string;
  /**
   * Values taken from the user's Ansible vault, by the same keys as `mustEnter` (`secret:k3sToken`,
   * `secret:bmc:0`, `nodes[0].bmc.username`): the dotted path in that vault (`ansible_vault.token`). When
   * every secret came from there, the inventory refers to them in place instead of copying them.
   */
  vaultRefs: Map<string, string>;
  /** Absolute path of that Ansible vault. */
  ansibleVault?: string;
}

export interface Secrets {
  grafanaAdminPassword?: string;
  /** A K3s token, or undefined to generate one when the vault is written. */
  k3sToken?: string;
  slackWebhook?: string;
  becomePassword?: string;
  /** Rancher's first `admin` password; only with `cluster.rancher.enabled`. */
  rancherBootstrapPassword?: string;
  /** BMC password by node index. */
  bmc: Map<number, string>;
}

export function emptyDraft(): Draft {
  return {
    doc: { cluster: {}, ssh: {}, nodes: [] },
    secrets: { bmc: new Map() },
    mustEnter: new Map(),
    vaultRefs: new Map(),
  };
}

export function getIn(doc: Raw, path: Path): unknown {
  let cur: unknown = doc;
  for (const step of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[step];
  }
  return cur;
}

/** Set a value, creating the mappings and list items on the way; undefined removes the key. */
export function setIn(doc: Raw, path: Path, value: unknown): void {
  let cur: Record<string | number, unknown> = doc;
  path.forEach((step, i) => {
    if (i === path.length - 1) {
      if (value === undefined) delete cur[step];
      else cur[step] = value;
      return;
    }
    const next = cur[step];
    if (next === null || typeof next !== "object") cur[step] = typeof path[i + 1] === "number" ? [] : {};
    cur = cur[step] as Record<string | number, unknown>;
  });
}

export function nodes(draft: Draft): Raw[] {
  const list = draft.doc.nodes;
  if (!Array.isArray(list)) draft.doc.nodes = [];
  return draft.doc.nodes as Raw[];
}

/** Vault key of a node's BMC password when the BMCs do not share one. */
export function bmcSecretName(nodeName: string): string {
  return `bmc_password_${nodeName.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** Environment variable that supplies a node's BMC password in non-interactive mode. */
export function bmcPasswordEnv(nodeName: string): string {
  return `POWERSTACK_BMC_PASSWORD_${nodeName.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}
