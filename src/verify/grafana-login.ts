/**
 * Grafana answers a login with the vault's admin credentials: `GET /api/user` with Basic auth (Grafana's
 * `auth.basic` is on by default) must be 200 with the user's JSON. The password is only ever in the
 * Authorization header; every message names the user and the vault key, never the value. The login
 * itself is src/grafana/login.ts, shared with `up` (which resets a password that no longer logs in).
 */
import { answerProblem, grafanaLogin, GRAFANA_TIMEOUT_MS, refusal } from "../grafana/login.js";
import { fail, pass, type Verdict } from "./check.js";

export { basicAuth, GRAFANA_TIMEOUT_MS } from "../grafana/login.js";

export interface GrafanaLogin {
  /** `http://<control external IP>:<grafana NodePort>`. */
  url: string;
  user: string;
  password: string;
  /** Where the password comes from, for the fix: "vault key `grafana_admin_password`". */
  passwordSource: string;
  /** The monitoring namespace, for the reset command in the fix. */
  namespace: string;
}

export async function checkGrafanaLogin(g: GrafanaLogin, timeoutMs = GRAFANA_TIMEOUT_MS): Promise<Verdict> {
  const o = await grafanaLogin(g, { timeoutMs, namespace: g.namespace });
  if (o.kind === "ok")
    return pass(`logged in as ${o.login}${o.grafanaAdmin ? " (Grafana admin)" : ""} at ${o.base}`);
  if (o.kind === "refused") {
    return fail(
      `Grafana at ${o.base} refused the login of \`${g.user}\` (${refusal(o)})`,
      `Grafana keeps the admin password in its database from its first start, so a later change of ${g.passwordSource} does not reach it by itself: ` +
        `\`powerstack up\` resets Grafana's to the vault's; or put Grafana's current password in the vault (\`powerstack vault edit\`); ` +
        `or reset it by hand, the password typed on stdin: ` +
        `\`kubectl -n ${g.namespace} exec -i deploy/<grafana deployment> -c grafana -- grafana cli admin reset-admin-password --password-from-stdin\``,
    );
  }
  const p = answerProblem(o, g.namespace);
  return fail(p.detail, p.fix);
}
