/**
 * The secrets the inventory refers to: asked with masked input (or read from environment variables in
 * non-interactive mode), kept in `Draft.secrets`, and written only to the encrypted vault.
 */
import type { Asker } from "./asker.js";
import { bmcPasswordEnv, nodes, type Draft } from "./draft.js";
import { rancherEnabled } from "./secret-names.js";

export const SECRET_ENV = {
  grafana: "POWERSTACK_GRAFANA_ADMIN_PASSWORD",
  bmcShared: "POWERSTACK_BMC_PASSWORD",
  slack: "POWERSTACK_SLACK_WEBHOOK",
  k3sToken: "POWERSTACK_K3S_TOKEN",
  become: "POWERSTACK_BECOME_PASSWORD",
  rancher: "POWERSTACK_RANCHER_BOOTSTRAP_PASSWORD",
} as const;

/** The word that asks for a generated K3s token instead of a typed one. */
export const GENERATE = "generate";

const noSpace = (what: string) => (v: string) =>
  /\s/.test(v) ? `${what} must not contain spaces or line breaks` : true;

export async function askSecrets(draft: Draft, asker: Asker): Promise<void> {
  const s = draft.secrets;
  s.grafanaAdminPassword ??= await asker.secret({
    what: "Grafana admin password",
    env: [SECRET_ENV.grafana],
    required: true,
    mustEnter: draft.mustEnter.get("secret:grafanaAdminPassword"),
  });

  await askBmcPasswords(draft, asker);

  // An import asks only for what it lacks: optional secrets it did not have are not asked for.
  const optional = (slot: string) => !draft.importedFrom || draft.mustEnter.has(`secret:${slot}`);

  if (optional("slackWebhook"))
    s.slackWebhook ??= await asker.secret({
      what: "Slack webhook URL for alerts",
      env: [SECRET_ENV.slack],
      required: false,
      mustEnter: draft.mustEnter.get("secret:slackWebhook"),
      validate: (v) =>
        /^https:\/\/\S+$/.test(v)
          ? true
          : "a Slack webhook is an https URL such as https://hooks.slack.com/services/...",
    });

  if (s.k3sToken === undefined && optional("k3sToken")) {
    const token = await asker.secret({
      what: "K3s cluster token",
      env: [SECRET_ENV.k3sToken],
      required: false,
      mustEnter: draft.mustEnter.get("secret:k3sToken"),
      hint: `empty or \`${GENERATE}\`: generate one`,
      envHint: `the value \`${GENERATE}\` generates one`,
      validate: noSpace("the K3s token"),
    });
    // Left undefined, the vault writer generates 64 hex characters.
    s.k3sToken = token === GENERATE ? undefined : token;
  }

  const user = draft.doc.ssh && (draft.doc.ssh as Record<string, unknown>).user;
  if (typeof user === "string" && user !== "root" && optional("becomePassword")) {
    s.becomePassword ??= await asker.secret({
      what: `sudo password of ${user} on the nodes`,
      env: [SECRET_ENV.become],
      required: false,
      mustEnter: draft.mustEnter.get("secret:becomePassword"),
      hint: "empty: sudo needs none",
    });
  }

  // Rancher reads its first `admin` password from the vault: with Rancher on, `up` cannot do without it.
  if (rancherEnabled(draft))
    s.rancherBootstrapPassword ??= await asker.secret({
      what: "Rancher bootstrap password (its first `admin` password)",
      env: [SECRET_ENV.rancher],
      required: true,
      mustEnter: draft.mustEnter.get("secret:rancherBootstrapPassword"),
    });
}

async function askBmcPasswords(draft: Draft, asker: Asker): Promise<void> {
  const s = draft.secrets;
  const lacking = nodes(draft)
    .map((n, i) => ({ name: String(n.name), i, bmc: n.bmc }))
    .filter((n) => n.bmc !== undefined && !s.bmc.has(n.i));
  if (lacking.length === 0) return;

  if (
    asker.interactive &&
    lacking.length > 1 &&
    (await asker.confirm(`Do the BMCs of ${lacking.map((n) => n.name).join(", ")} share one password?`, true))
  ) {
    const pw = await asker.secret({ what: "BMC password", env: [SECRET_ENV.bmcShared], required: true });
    for (const n of lacking) if (pw) s.bmc.set(n.i, pw);
    return;
  }
  for (const n of lacking) {
    const pw = await asker.secret({
      what: `BMC password of ${n.name}`,
      env: [bmcPasswordEnv(n.name), SECRET_ENV.bmcShared],
      required: true,
      mustEnter: draft.mustEnter.get(`secret:bmc:${n.i}`),
    });
    if (pw) s.bmc.set(n.i, pw);
  }
}
