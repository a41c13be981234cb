/**
 * One line of `powerstack verify`: which check, where (a node, a namespace, a service), the verdict, what
 * was seen, and on failure how to fix it. A check is `skip` only when it cannot apply (no workers for the
 * NFS round trip, no BMC on a node) or a prerequisite another check already reports as failed is missing;
 * never to hide a failure.
 */
import { describeError, ExitCode, PowerstackError } from "../errors.js";

export type CheckStatus = "pass" | "fail" | "skip";

/** Stable names: CI scripts and `--json` consumers key on them. */
export const CHECKS = {
  ssh: "ssh.connect",
  paranoid: "kernel.perf_event_paranoid",
  dataMount: "storage.data-mount",
  nfsExport: "nfs.export",
  nfsMount: "nfs.client-mount",
  k3sUnit: "k3s.service",
  nfsRoundTrip: "nfs.round-trip",
  k8sApi: "k8s.api",
  nodeReady: "k8s.node-ready",
  pods: "k8s.pods",
  pvcs: "k8s.pvcs-bound",
  bmc: "bmc.power-reading",
  keplerTargets: "kepler.targets-up",
  keplerNonZero: "kepler.energy-nonzero",
  keplerSources: "kepler.one-source-per-node",
  grafana: "grafana.login",
  rancher: "rancher.ping",
} as const;
export type CheckName = (typeof CHECKS)[keyof typeof CHECKS];

export interface CheckResult {
  name: CheckName;
  /** A node name, a namespace, or a service (`prometheus`, `grafana`). */
  scope: string;
  status: CheckStatus;
  /** What was observed, one line. */
  detail: string;
  /** How to make it pass; set on failures. */
  fix?: string;
  /** The check could not reach what it checks (SSH host, BMC, HTTP service): exit code 3. */
  unreachable?: boolean;
  /** Wall time of the check, for spotting the slow one. */
  ms?: number;
}

/** What a check function returns; name and scope are filled in by whoever runs it. */
export type Verdict = Pick<CheckResult, "status" | "detail" | "fix" | "unreachable">;

export const pass = (detail: string): Verdict => ({ status: "pass", detail });
export const fail = (detail: string, fix: string): Verdict => ({ status: "fail", detail, fix });
export const skip = (detail: string): Verdict => ({ status: "skip", detail });

/** A thrown error as a failed check: its message and fix; `unreachable` when it carries exit code 3. */
export function failFromError(err: unknown, fallbackFix: string): Verdict {
  const message = err instanceof PowerstackError ? err.message : describeError(err);
  const fix = err instanceof PowerstackError && err.fix ? err.fix : fallbackFix;
  const unreachable = err instanceof PowerstackError && err.exitCode === ExitCode.unreachable;
  return { status: "fail", detail: oneLine(message), fix, ...(unreachable ? { unreachable } : {}) };
}

/** Details are table cells: collapse newlines and runs of blanks. */
export function oneLine(text: string): string {
  return text
    .replace(/\s*\n\s*/g, " / ")
    .replace(/\s{2,}/g, " ")
    .trim();
}
