/**
 * All pods of a namespace are Running (every container ready) or Succeeded. The phase alone is not
 * enough: a container in CrashLoopBackOff leaves its pod in phase Running, and a Kepler pod can run with
 * all-zero metrics (checked on the Prometheus side). The ones that are not healthy are listed with the
 * reason Kubernetes gives (CrashLoopBackOff, ImagePullBackOff, Unschedulable, Evicted, ...).
 */
import { fail, pass, type Verdict } from "./check.js";
import type { ContainerStatus, KubePod } from "../cluster/kube-objects.js";

/** Why a pod is not healthy, or undefined when it is. */
export function podProblem(pod: KubePod): string | undefined {
  const st = pod.status ?? {};
  const phase = st.phase ?? "Unknown";
  if (phase === "Succeeded") return undefined;
  const containers = st.containerStatuses ?? [];
  const restarts = containers.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const withRestarts = (s: string) =>
    restarts > 0 ? `${s}, ${restarts} restart${restarts === 1 ? "" : "s"}` : s;
  if (pod.metadata.deletionTimestamp) return "Terminating";
  if (phase === "Running") {
    const notReady = containers.filter((c) => !c.ready);
    if (notReady.length === 0 && containers.length > 0) return undefined;
    const why = notReady.map(containerReason).find(Boolean);
    return withRestarts(
      why ?? `${containers.length - notReady.length}/${containers.length} containers ready`,
    );
  }
  if (phase === "Pending") {
    const why =
      [...(st.initContainerStatuses ?? []), ...containers].map(containerReason).find(Boolean) ??
      scheduling(pod);
    return withRestarts(`Pending${why ? `: ${why}` : ""}`);
  }
  if (phase === "Failed")
    return `Failed${st.reason ? `: ${st.reason}` : ""}${st.message ? ` (${st.message})` : ""}`;
  return `${phase}${st.reason ? `: ${st.reason}` : ""}`;
}

function containerReason(c: ContainerStatus): string | undefined {
  const w = c.state?.waiting;
  if (w?.reason) return w.reason;
  const t = c.state?.terminated;
  if (t?.reason) return `${t.reason}${t.exitCode !== undefined ? ` (exit ${t.exitCode})` : ""}`;
  return undefined;
}

function scheduling(pod: KubePod): string | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === "PodScheduled" && x.status !== "True");
  return c ? [c.reason, c.message].filter(Boolean).join(": ") : undefined;
}

/**
 * A failed pod of a Job that later succeeded is history, not a fault: K3s' helm-install jobs in
 * kube-system routinely fail once while the API server settles, and keep that pod around.
 */
function supersededJobFailure(pod: KubePod, all: KubePod[]): boolean {
  if (pod.status?.phase !== "Failed") return false;
  const job = pod.metadata.ownerReferences?.find((o) => o.kind === "Job")?.name;
  return (
    job !== undefined &&
    all.some(
      (p) =>
        p.status?.phase === "Succeeded" &&
        p.metadata.ownerReferences?.some((o) => o.kind === "Job" && o.name === job),
    )
  );
}

export function checkPods(pods: KubePod[], namespace: string, deployedBy: string): Verdict {
  const inNs = pods.filter((p) => p.metadata.namespace === namespace);
  if (inNs.length === 0) {
    return fail(`no pods in namespace ${namespace}`, deployedBy);
  }
  const bad = inNs
    .filter((p) => !supersededJobFailure(p, inNs))
    .map((p) => ({ name: p.metadata.name, node: p.spec?.nodeName, why: podProblem(p) }))
    .filter((p): p is { name: string; node: string | undefined; why: string } => p.why !== undefined);
  if (bad.length > 0) {
    const first = bad[0]!;
    return fail(
      `${bad.length} of ${inNs.length} not running: ${bad.map((b) => `${b.name} (${b.why}${b.node ? ` on ${b.node}` : ""})`).join(", ")}`,
      `on the control node: \`kubectl -n ${namespace} describe pod ${first.name}\` and \`kubectl -n ${namespace} logs ${first.name} --all-containers --previous\``,
    );
  }
  const succeeded = inNs.filter((p) => p.status?.phase === "Succeeded").length;
  return pass(
    `${inNs.length} pod${inNs.length === 1 ? "" : "s"}: ${inNs.length - succeeded} running${succeeded ? `, ${succeeded} completed` : ""}`,
  );
}
