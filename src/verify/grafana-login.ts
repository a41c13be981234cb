/**
 * Grafana answers a login with the vault's admin credentials: `GET /api/user` with Basic auth (Grafana's
 * `auth.basic` is on by default) must be 200 with the user's JSON. The password is only ever in the
 * Authorization header; every message names the user and the vault key, never the value.
 */
import { fail, pass, type Verdict } from "./check.js";
import { httpGet } from "./http-get.js";

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

export const GRAFANA_TIMEOUT_MS = 10_000;

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

export async function checkGrafanaLogin(g: GrafanaLogin, timeoutMs = GRAFANA_TIMEOUT_MS): Promise<Verdict> {
  const base = g.url.replace(/\/+$/, "");
  const res = await httpGet(`${base}/api/user`, {
    headers: { authorization: basicAuth(g.user, g.password), accept: "application/json" },
    timeoutMs,
    what: "Grafana",
    fix:
      "check that Grafana runs (`kubectl -n " +
      g.namespace +
      " get pods`) and that the control node's external_ip and cluster.node_ports.grafana in the inventory are right",
  });
  let body: { login?: unknown; isGrafanaAdmin?: unknown; message?: unknown } | undefined;
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    body = undefined;
  }
  if (res.status === 200) {
    if (typeof body?.login !== "string") {
      return fail(
        `${base}/api/user answered 200 without Grafana's user JSON (${res.text.trim().slice(0, 60) || "empty body"})`,
        "something other than Grafana answers on that port: check cluster.node_ports.grafana in the inventory",
      );
    }
    return pass(
      `logged in as ${body.login}${body.isGrafanaAdmin === true ? " (Grafana admin)" : ""} at ${base}`,
    );
  }
  if (res.status === 401 || res.status === 403) {
    const said = typeof body?.message === "string" ? `: ${body.message}` : "";
    return fail(
      `Grafana at ${base} refused the login of \`${g.user}\` (HTTP ${res.status}${said})`,
      `Grafana keeps the admin password in its database from its first start, so a later change of ${g.passwordSource} does not reach it: ` +
        `put Grafana's current password in the vault (\`powerstack vault edit\`), or reset Grafana's to the vault's: ` +
        `\`kubectl -n ${g.namespace} exec deploy/<grafana deployment> -c grafana -- grafana cli admin reset-admin-password <password>\``,
    );
  }
  if (res.status >= 300 && res.status < 400) {
    return fail(
      `${base}/api/user redirects (HTTP ${res.status}) instead of answering: a login proxy or another service is in front`,
      "point cluster.node_ports.grafana at Grafana's own NodePort",
    );
  }
  return fail(
    `${base}/api/user answered HTTP ${res.status}${typeof body?.message === "string" ? `: ${body.message}` : ""}`,
    `look at Grafana's log: \`kubectl -n ${g.namespace} logs deploy/<grafana deployment> -c grafana\``,
  );
}
