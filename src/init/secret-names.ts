/**
 * Pairing the inventory's `*_secret` keys with the vault's entries. The inventory gets the NAMES (unless
 * `--set` chose other names), the vault gets the VALUES under exactly those names, so `openRun` finds
 * every key it looks for.
 */
import { randomBytes } from "node:crypto";
import { bmcSecretName, getIn, nodes, setIn, type Draft, type Raw } from "./draft.js";

/** 32 random bytes as 64 hex characters: the shape of a token K3s generates itself. */
export function generateK3sToken(): string {
  return randomBytes(32).toString("hex");
}

/** A copy of the draft's document with `vault_file` and every secret name filled in. */
export function withSecretNames(draft: Draft, vaultFile: string): Raw {
  const doc = structuredClone(draft.doc);
  const fill = (path: Array<string | number>, name: string) => {
    if (getIn(doc, path) === undefined) setIn(doc, path, name);
  };
  // Always the file init writes (--vault), so the inventory can never point at another one.
  doc.vault_file = vaultFile;
  fill(["cluster", "k3s", "token_secret"], "k3s_token");
  fill(["cluster", "monitoring", "grafana_admin_password_secret"], "grafana_admin_password");
  if (draft.secrets.slackWebhook) fill(["cluster", "monitoring", "slack_webhook_secret"], "slack_webhook");
  if (draft.secrets.becomePassword) fill(["ssh", "become_password_secret"], "become_password");
  if (rancherEnabled(draft))
    fill(["cluster", "rancher", "bootstrap_password_secret"], "rancher_bootstrap_password");

  // BMCs that share one password share one vault key; otherwise one key per node.
  const list = nodes({ ...draft, doc });
  const withBmc = list.map((n, i) => ({ n, i })).filter(({ n }) => n.bmc !== undefined && n.bmc !== null);
  const shared = new Set(withBmc.map(({ i }) => draft.secrets.bmc.get(i))).size <= 1;
  for (const { n, i } of withBmc) {
    fill(["nodes", i, "bmc", "password_secret"], shared ? "bmc_password" : bmcSecretName(String(n.name)));
  }
  return doc;
}

/** The vault's contents for a document from `withSecretNames`; generates the K3s token when none was given. */
export function vaultValues(draft: Draft, doc: Raw): Record<string, string> {
  const values: Record<string, string> = {};
  const put = (path: Array<string | number>, value: string | undefined) => {
    const name = getIn(doc, path);
    if (typeof name === "string" && value !== undefined) values[name] = value;
  };
  put(["cluster", "k3s", "token_secret"], draft.secrets.k3sToken ?? generateK3sToken());
  put(["cluster", "monitoring", "grafana_admin_password_secret"], draft.secrets.grafanaAdminPassword);
  put(["cluster", "monitoring", "slack_webhook_secret"], draft.secrets.slackWebhook);
  put(["ssh", "become_password_secret"], draft.secrets.becomePassword);
  put(["cluster", "rancher", "bootstrap_password_secret"], draft.secrets.rancherBootstrapPassword);
  nodes({ ...draft, doc }).forEach((_n, i) =>
    put(["nodes", i, "bmc", "password_secret"], draft.secrets.bmc.get(i)),
  );
  return values;
}

/** Rancher's password is needed (asked, written to the vault) only when Rancher is installed. */
export function rancherEnabled(draft: Draft): boolean {
  return getIn(draft.doc, ["cluster", "rancher", "enabled"]) === true;
}
