/**
 * One login to Grafana with Basic auth (`GET /api/user`; Grafana's `auth.basic` is on by default), told
 * apart: logged in, refused, or something else answering. Shared by `powerstack verify` (the
 * grafana.login check) and `powerstack up` (the grafana-admin module resets a password that no longer
 * logs in). The password is only ever in the Authorization header: no outcome or message carries it.
 */
import { httpGet } from "../verify/http-get.js";

export interface GrafanaCredentials {
  /** `http://<control external IP>:<grafana NodePort>`. */
  url: string;
  user: string;
  password: string;
}

export const GRAFANA_TIMEOUT_MS = 10_000;

export type GrafanaLoginOutcome =
  | { kind: "ok"; base: string; login: string; grafanaAdmin: boolean }
  /** 401/403: Grafana does not accept these credentials. */
  | { kind: "refused"; base: string; status: number; message?: string }
  | { kind: "not-grafana"; base: string; text: string }
  | { kind: "redirect"; base: string; status: number }
  | { kind: "error"; base: string; status: number; message?: string };

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/** How to fix a Grafana nothing answers for (the NodePort, the pod). */
export const unreachableFix = (namespace: string) =>
  "check that Grafana runs (`kubectl -n " +
  namespace +
  " get pods`) and that the control node's external_ip and cluster.node_ports.grafana in the inventory are right";

/**
 * One login attempt. Throws the PowerstackError of httpGet (exit code 3, the reason in words) when nothing
 * answers at all.
 */
export async function grafanaLogin(
  c: GrafanaCredentials,
  opts: { timeoutMs?: number; namespace: string },
): Promise<GrafanaLoginOutcome> {
  const base = c.url.replace(/\/+$/, "");
  const res = await httpGet(`${base}/api/user`, {
    headers: { authorization: basicAuth(c.user, c.password), accept: "application/json" },
    timeoutMs: opts.timeoutMs ?? GRAFANA_TIMEOUT_MS,
    what: "Grafana",
    fix: unreachableFix(opts.namespace),
  });
  let body: { login?: unknown; isGrafanaAdmin?: unknown; message?: unknown } | undefined;
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    body = undefined;
  }
  const message = typeof body?.message === "string" ? body.message : undefined;
  if (res.status === 200) {
    if (typeof body?.login !== "string") return { kind: "not-grafana", base, text: res.text };
    return { kind: "ok", base, login: body.login, grafanaAdmin: body.isGrafanaAdmin === true };
  }
  if (res.status === 401 || res.status === 403) return { kind: "refused", base, status: res.status, message };
  if (res.status >= 300 && res.status < 400) return { kind: "redirect", base, status: res.status };
  return { kind: "error", base, status: res.status, message };
}

/** "HTTP 401: Invalid username or password": what Grafana said when it refused. */
export const refusal = (o: { status: number; message?: string }) =>
  `HTTP ${o.status}${o.message ? `: ${o.message}` : ""}`;

/** What is wrong, and the fix, when something other than Grafana's answer to a login came back. */
export function answerProblem(
  o: Extract<GrafanaLoginOutcome, { kind: "not-grafana" | "redirect" | "error" }>,
  namespace: string,
): { detail: string; fix: string } {
  if (o.kind === "not-grafana")
    return {
      detail: `${o.base}/api/user answered 200 without Grafana's user JSON (${o.text.trim().slice(0, 60) || "empty body"})`,
      fix: "something other than Grafana answers on that port: check cluster.node_ports.grafana in the inventory",
    };
  if (o.kind === "redirect")
    return {
      detail: `${o.base}/api/user redirects (HTTP ${o.status}) instead of answering: a login proxy or another service is in front`,
      fix: "point cluster.node_ports.grafana at Grafana's own NodePort",
    };
  return {
    detail: `${o.base}/api/user answered HTTP ${o.status}${o.message ? `: ${o.message}` : ""}`,
    fix: `look at Grafana's log: \`kubectl -n ${namespace} logs deploy/<grafana deployment> -c grafana\``,
  };
}
