/**
 * Grafana's admin password is the vault's. Grafana reads GF_SECURITY_ADMIN_PASSWORD (our Secret) only when
 * it creates its database, and that database outlives reinstalls (Grafana's volume is an NFS PV with
 * Retain), so a rotated vault password never reaches a Grafana that already ran: it must be reset inside it.
 *
 * probe (from the operator's machine, as `powerstack verify` does): one login with the vault's credentials
 * at the control node's Grafana NodePort. Decisions:
 *   - logged in                          -> nothing
 *   - refused (401/403)                  -> reset the password, then log in again (bounded) or fail
 *   - nothing answers, --check           -> said so: checked when `up` runs, after the release is installed
 *   - nothing answers / something else   -> fail with the fix
 * On a first install the login is read before the Helm release exists; the release task's install touches
 * this fact (helm-release.ts), so this task reads it again, at a Grafana that is up (`helm upgrade --wait`).
 *
 * The reset runs on the control node in Grafana's own container, the password on stdin only:
 * `grafana cli ... admin reset-admin-password --password-from-stdin` (Grafana reads one line). It resets
 * the user with id 1: the admin Grafana created with its database. Then Grafana's Deployment is restarted
 * and waited for: its dashboard and datasource sidecars read the admin login from the Secret only at start,
 * and with the old password their reload calls would fail, and count towards Grafana's lockout of the
 * admin after failed logins.
 */
import { PowerstackError } from "../errors.js";
import { defineFact } from "../engine/fact.js";
import type { Module } from "../engine/types.js";
import { GRAFANA_CONFIG, GRAFANA_CONTAINER, GRAFANA_HOME } from "../grafana/chart.js";
import { answerProblem, grafanaLogin, refusal, unreachableFix } from "../grafana/login.js";
import { shq, type Host } from "../transport/host.js";
import { run } from "../transport/run.js";
import { KUBECTL } from "../facts/k3s.js";

export interface GrafanaAdminParams {
  /** `http://<control external IP>:<grafana NodePort>`. */
  url: string;
  user: string;
  password: string;
  /** Where the password comes from, for messages: "vault key `grafana_admin_password`". */
  passwordSource: string;
  namespace: string;
  /** Grafana's Deployment (the chart's `grafana.fullname`). */
  deployment: string;
  /** Logins after the reset until one works (default 5, 2 s apart). */
  recheck?: { attempts: number; delayMs: number };
  /** Per login (default 10 s). */
  timeoutMs?: number;
}

/** What the probe saw; never the password. */
export type GrafanaAdminSeen =
  | { state: "ok"; detail: string }
  | { state: "refused"; detail: string }
  | { state: "unreachable"; detail: string }
  | { state: "broken"; detail: string; fix: string };

export const RESET_SUMMARY =
  "reset Grafana admin password (the vault's no longer logs in), then restart Grafana so its sidecars use it";

/** Restart Grafana's pod and wait for it (its sidecars read the admin Secret only at start). */
export function restartCommand(p: Pick<GrafanaAdminParams, "namespace" | "deployment">): string {
  const ref = `${shq(`deploy/${p.deployment}`)} -n ${shq(p.namespace)}`;
  return `${KUBECTL} rollout restart ${ref} && ${KUBECTL} rollout status ${ref} --timeout=${RESTART_TIMEOUT_SEC}s`;
}
const RESTART_TIMEOUT_SEC = 300;

const DEFAULT_RECHECK = { attempts: 5, delayMs: 2_000 };

/** One login with the vault's credentials, as a state. */
export async function observeGrafanaAdmin(p: GrafanaAdminParams): Promise<GrafanaAdminSeen> {
  try {
    const o = await grafanaLogin(p, { timeoutMs: p.timeoutMs, namespace: p.namespace });
    if (o.kind === "ok") return { state: "ok", detail: `logged in as ${o.login} at ${o.base}` };
    if (o.kind === "refused")
      return {
        state: "refused",
        detail: `Grafana at ${o.base} refused the login of \`${p.user}\` (${refusal(o)})`,
      };
    return { state: "broken", ...answerProblem(o, p.namespace) };
  } catch (err) {
    // httpGet's "cannot reach Grafana at ...: <reason>" (exit code 3); anything else is a bug, not a state.
    if (err instanceof PowerstackError) return { state: "unreachable", detail: err.message };
    throw err;
  }
}

/** The command sent to the control node; the password goes to its stdin. */
export function resetCommand(p: Pick<GrafanaAdminParams, "namespace" | "deployment">): string {
  return [
    `${KUBECTL} exec -i -n ${shq(p.namespace)} ${shq(`deploy/${p.deployment}`)} -c ${GRAFANA_CONTAINER} --`,
    `grafana cli --homepath ${GRAFANA_HOME} --config ${GRAFANA_CONFIG}`,
    "admin reset-admin-password --password-from-stdin",
  ].join(" ");
}

const logsHint = (p: GrafanaAdminParams) =>
  `\`k3s kubectl -n ${p.namespace} get pods\` and \`k3s kubectl -n ${p.namespace} logs deploy/${p.deployment} -c ${GRAFANA_CONTAINER}\` on the control node`;

/** One login with the vault's credentials, read from the operator's machine (keyed without the password). */
export const grafanaAdminLogin = defineFact<GrafanaAdminSeen, GrafanaAdminParams>({
  name: "grafana-admin",
  key: (p) => `${p.url} ${p.user}`,
  local: observeGrafanaAdmin,
});

export type GrafanaAdminAction =
  | { kind: "reset" }
  /**
   * Grafana does not answer yet. Before the tasks that install it have run (--check, or a first `up` whose
   * probe read came before them) that is what a first install looks like: the login is checked again when
   * this action runs, and an unreachable Grafana then fails the task.
   */
  | { kind: "check-when-up"; detail: string };

export const grafanaAdmin: Module<GrafanaAdminParams, { login: GrafanaAdminSeen }, GrafanaAdminAction> = {
  name: "grafana-admin",
  reads: (p) => ({ login: grafanaAdminLogin.of(p) }),
  plan({ login: seen }, p) {
    switch (seen.state) {
      case "ok":
        return [];
      case "refused":
        refuseMultiline(seen.detail, p);
        return [{ kind: "reset" }];
      case "unreachable":
        return [{ kind: "check-when-up", detail: seen.detail }];
      case "broken":
        throw new PowerstackError(seen.detail, undefined, seen.fix);
    }
  },
  describe: (a) =>
    a.kind === "reset"
      ? RESET_SUMMARY
      : `check Grafana's admin login once kube-prometheus-stack is installed and Grafana answers (now: ${a.detail})`,
  touches: (_a, p) => [grafanaAdminLogin.of(p)],
  async apply({ host }, actions, p) {
    for (const a of actions) {
      if (a.kind === "check-when-up") {
        const now = await observeGrafanaAdmin(p);
        if (now.state === "unreachable")
          throw new PowerstackError(now.detail, undefined, unreachableFix(p.namespace));
        if (now.state === "broken") throw new PowerstackError(now.detail, undefined, now.fix);
        if (now.state === "ok") continue;
        refuseMultiline(now.detail, p);
      }
      await resetAndRecheck(host, p);
    }
  },
};

function refuseMultiline(detail: string, p: GrafanaAdminParams): void {
  if (/[\r\n]/.test(p.password))
    throw new PowerstackError(
      `${detail}, and ${p.passwordSource} holds a line break: Grafana's CLI reads the new password as one line`,
      undefined,
      "put the password on one line (`powerstack vault edit`) and rerun",
    );
}

async function resetAndRecheck(host: Host, p: GrafanaAdminParams): Promise<void> {
  try {
    await run(host, resetCommand(p), { stdin: `${p.password}\n`, timeoutSec: 120 });
  } catch (err) {
    throw new PowerstackError(
      `resetting Grafana's admin password in ${p.namespace}/deploy/${p.deployment} failed: ${(err as Error).message}`,
      undefined,
      `Grafana's pod must be Running: look at ${logsHint(p)}, then rerun`,
    );
  }
  try {
    await run(host, restartCommand(p), { timeoutSec: RESTART_TIMEOUT_SEC + 60 });
  } catch (err) {
    throw new PowerstackError(
      `Grafana's admin password was reset, but restarting ${p.namespace}/deploy/${p.deployment} failed: ${(err as Error).message}`,
      undefined,
      `look at ${logsHint(p)}; a rerun checks the login again`,
    );
  }
  const { attempts, delayMs } = p.recheck ?? DEFAULT_RECHECK;
  let last: GrafanaAdminSeen | undefined;
  for (let a = 1; a <= attempts; a++) {
    if (a > 1) await new Promise((r) => setTimeout(r, delayMs));
    last = await observeGrafanaAdmin(p);
    if (last.state === "ok") return;
  }
  throw new PowerstackError(
    `Grafana's admin password was reset, but the login still fails ${attempts} time(s): ${last?.detail}`,
    undefined,
    `\`grafana cli admin reset-admin-password\` resets the user Grafana created first (id 1): if cluster.monitoring.grafana_admin_user ` +
      `changed since Grafana's database was created, set it back or rename that user in Grafana; if Grafana says the login is ` +
      `blocked after failed attempts, wait 5 minutes and rerun; otherwise look at ${logsHint(p)}`,
  );
}
