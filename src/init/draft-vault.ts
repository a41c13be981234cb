/**
 * Which vault the written inventory names. After an import whose secrets all came from the user's Ansible
 * vault, the inventory refers to them there by dotted path (`token_secret: ansible_vault.token`) and that
 * vault is left untouched; otherwise (or without an import) init writes its own vault with the values.
 */
import { dirname, relative } from "node:path";
import { fieldAt } from "../inventory/field-check.js";
import { getIn, nodes, setIn, type Draft, type Raw } from "./draft.js";
import { rancherEnabled, withSecretNames } from "./secret-names.js";

export type VaultPlan =
  /** `file`: the Ansible vault, relative to the inventory. */
  | { mode: "reference"; file: string }
  /** `file`: the vault init writes (--vault), relative to the inventory; `why`: why not by reference. */
  | { mode: "write"; file: string; why?: string };

const SLOTS = [
  [
    "grafanaAdminPassword",
    ["cluster", "monitoring", "grafana_admin_password_secret"],
    "the Grafana admin password",
  ],
  ["k3sToken", ["cluster", "k3s", "token_secret"], "the K3s token"],
  ["slackWebhook", ["cluster", "monitoring", "slack_webhook_secret"], "the Slack webhook"],
  ["becomePassword", ["ssh", "become_password_secret"], "the sudo password"],
  [
    "rancherBootstrapPassword",
    ["cluster", "rancher", "bootstrap_password_secret"],
    "the Rancher bootstrap password",
  ],
] as const;

/** A Rancher password without Rancher (turned off by `--set`) is neither referred to nor copied. */
function needed(draft: Draft, slot: (typeof SLOTS)[number][0]): boolean {
  return slot !== "rancherBootstrapPassword" || rancherEnabled(draft);
}

/** `inventoryFile`: absolute; `ownVault`: the --vault file relative to the inventory. */
export function planVault(draft: Draft, inventoryFile: string, ownVault: string): VaultPlan {
  if (!draft.ansibleVault) return { mode: "write", file: ownVault };
  const lacking: string[] = [];
  for (const [slot, , label] of SLOTS) {
    if (draft.secrets[slot] !== undefined && !draft.vaultRefs.has(`secret:${slot}`) && needed(draft, slot))
      lacking.push(label);
  }
  nodes(draft).forEach((n, i) => {
    if (draft.secrets.bmc.has(i) && !draft.vaultRefs.has(`secret:bmc:${i}`))
      lacking.push(`the BMC password of ${String(n.name ?? `node ${i + 1}`)}`);
  });
  if (lacking.length > 0)
    return {
      mode: "write",
      file: ownVault,
      why: `the Ansible vault does not hold ${lacking.join(", ")}, and an inventory names one vault: the values are copied into ${ownVault}`,
    };
  return { mode: "reference", file: relative(dirname(inventoryFile), draft.ansibleVault) };
}

/** The inventory document to write: secret names filled in, by reference to the Ansible vault when planned. */
export function inventoryData(draft: Draft, plan: VaultPlan): Raw {
  const doc = withSecretNames(draft, plan.file);
  const reference = plan.mode === "reference";
  if (reference) {
    for (const [slot, path] of SLOTS) {
      const ref = draft.vaultRefs.get(`secret:${slot}`);
      if (ref && needed(draft, slot)) setIn(doc, [...path], ref);
    }
  }
  // A BMC user name kept in the Ansible vault stays a secret (`username_secret`): there, or in our vault.
  const usernameSecret = fieldAt(["nodes", 0, "bmc", "username_secret"]) !== undefined;
  const users = bmcUsersFromVault(draft, doc);
  const shared = new Set(users.map((u) => u.value)).size <= 1;
  for (const { node, ref } of users) {
    if (!usernameSecret) break;
    setIn(node, ["bmc", "username"], undefined);
    setIn(node, ["bmc", "username_secret"], reference ? ref : userSecretName(node, shared));
  }
  if (reference) {
    nodes({ ...draft, doc }).forEach((n, i) => {
      const pw = draft.vaultRefs.get(`secret:bmc:${i}`);
      if (pw && getIn(n, ["bmc"]) !== undefined) setIn(n, ["bmc", "password_secret"], pw);
    });
  }
  return doc;
}

/**
 * Values for init's own vault beyond the secrets slots: the BMC user names taken from the Ansible vault, under
 * the `username_secret` names `inventoryData` gave them (write mode).
 */
export function extraVaultValues(draft: Draft, doc: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { node, value } of bmcUsersFromVault(draft, doc)) {
    const name = getIn(node, ["bmc", "username_secret"]);
    if (typeof name === "string") out[name] = value;
  }
  return out;
}

function bmcUsersFromVault(
  draft: Draft,
  doc: Raw,
): Array<{ i: number; node: Raw; ref: string; value: string }> {
  const out: Array<{ i: number; node: Raw; ref: string; value: string }> = [];
  nodes({ ...draft, doc }).forEach((node, i) => {
    const ref = draft.vaultRefs.get(`nodes[${i}].bmc.username`);
    const value = getIn(draft.doc, ["nodes", i, "bmc", "username"]);
    if (ref && typeof value === "string" && getIn(node, ["bmc"]) !== undefined)
      out.push({ i, node, ref, value });
  });
  return out;
}

function userSecretName(node: Raw, shared: boolean): string {
  return shared ? "bmc_username" : `bmc_username_${String(node.name).replace(/[^A-Za-z0-9_]/g, "_")}`;
}
