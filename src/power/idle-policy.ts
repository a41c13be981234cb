/**
 * `powerstack power idle`: which workers to power off or on in one pass, as pure functions over facts
 * (Kubernetes pods, Kepler energy, BMC power state). Nothing here reads the clock, the network or a file:
 * `src/power/idle-facts.ts` gathers the facts, `src/power/idle-command.ts` acts on the decisions.
 *
 * ## What "idle" means, precisely
 *
 * A worker is idle at `nowMs` for `idleForMs` when ALL of these hold:
 *
 * 1. Kubernetes: no workload pod is on it now. A workload pod is a pod bound to the node
 *    (`spec.nodeName`), in phase Pending, Running or Unknown, outside the system namespaces, and not owned
 *    by a DaemonSet (a DaemonSet pod runs on every node by design and comes back with it: counting it
 *    would keep every node busy forever).
 * 2. Kubernetes: the last workload pod Kubernetes still knows on it (Succeeded/Failed pods keep their
 *    container finish times) finished at least `idleForMs` before `nowMs`.
 * 3. Kepler covers the whole window `[nowMs - idleForMs, nowMs]` for this node (its first sample in the
 *    window is within one scrape interval of the window's start): no coverage, no evidence, not idle.
 * 4. Kepler: the energy attributed to pods outside the system namespaces on this node over the window is
 *    at most `workloadJoulesMax` (default 1 J per minute of window). This is what catches pods that ran
 *    and were deleted inside the window: Kubernetes forgets a deleted pod, Kepler's counters do not.
 * 5. Kepler: the node's highest 5-minute average power in the window (`peakWatts`) is at most its idle
 *    draw (`idleWatts`, the lowest 5-minute average power of the node over the baseline, 7 days) plus
 *    `max(idleMarginRatio × idleWatts, idleMarginWatts)` (defaults 10 % and 5 W). The peak, not the mean:
 *    a 10-minute batch job in a 30-minute window raises the mean by a third of its load, which a margin can
 *    swallow; it raises the 5-minute peak by all of it. This catches load that is not a pod (a process on
 *    the host, a VM, a backup run by cron) and is why "no pods" alone is never taken as idle. The power is
 *    the platform's (whole server, Kepler's BMC/ACPI reading); for a node Kepler has no platform power
 *    for, its CPU package (RAPL, summed over sockets), which sees CPU load only.
 *
 * Kubernetes alone is not enough (deleted pods vanish, host processes are invisible to it) and Kepler
 * alone is not enough (a pod that just started has used almost nothing yet); both must agree.
 *
 * ## Decisions, in this order, one pass
 *
 * - The control node is never powered off or on by the policy.
 * - A worker whose power state is unknown, or that has no BMC, is kept as it is (reason says which).
 * - When any pod is Pending because no node has enough CPU or memory (PodScheduled=False, reason
 *   Unschedulable, message mentioning `Insufficient cpu` or `Insufficient memory`), ONE worker that is off
 *   is powered on (the first by name), and no worker is powered off in this pass.
 * - Otherwise every idle worker that is on and holds no volume in use is powered off, in name order, as
 *   long as at least `minWorkersOn` workers stay on (On or PoweringOn).
 * - A worker with a volume in use (a pod on it mounting a PersistentVolumeClaim, or a non-DaemonSet pod
 *   mounting a hostPath or local volume) is never powered off: its data lives with it.
 *
 * Every node gets exactly one decision with a reason; nodes are ordered by name.
 */

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff" | "unknown";

/** A pod as the policy sees it (parsed from `kubectl get pods -A -o json`). */
export interface PodFact {
  namespace: string;
  name: string;
  /** `spec.nodeName`; undefined for a pod not scheduled. */
  node?: string;
  phase: string;
  /** Owned by a DaemonSet (ownerReferences kind DaemonSet). */
  daemonSet: boolean;
  /** Latest container start (or pod start) time, ms. */
  startedMs?: number;
  /** Latest container finish time of a Succeeded/Failed pod, ms. */
  finishedMs?: number;
  /** Names of the PersistentVolumeClaims it mounts. */
  claims: string[];
  /** Names of its hostPath / local volumes. */
  hostVolumes: string[];
  /** PodScheduled condition when False: its reason and message. */
  unschedulable?: { reason: string; message: string };
}

/** Kepler's view of one node over the idle window. */
export interface KeplerNodeFacts {
  /** First Kepler sample of the node inside the window, ms. */
  firstSampleMs?: number;
  /** Joules attributed to pods outside the system namespaces on this node over the window. */
  workloadJoules: number;
  /** Highest 5-minute average power in the window, W. */
  peakWatts?: number;
  /** Lowest 5-minute average power over the baseline (the node's idle draw), W. */
  idleWatts?: number;
  /** Last Kepler sample of the node over the baseline, ms: when a node that is off now went off. */
  lastSampleMs?: number;
  /** Which series the watts come from, for the reason text. */
  source: string;
}

export interface NodeFacts {
  name: string;
  role: "control" | "worker";
  hasBmc: boolean;
  power: PowerState;
  /** Kepler's facts; undefined when Prometheus had none for this node (or could not be read). */
  kepler?: KeplerNodeFacts;
}

export interface IdleSettings {
  nowMs: number;
  idleForMs: number;
  minWorkersOn: number;
  systemNamespaces: readonly string[];
  /** How far after the window's start Kepler's first sample may be (a scrape interval or two). */
  coverageSlackMs: number;
  idleMarginRatio: number;
  idleMarginWatts: number;
  /** Joules per millisecond of window attributed to workload pods still counted as idle. */
  workloadJoulesPerMs: number;
}

export const IDLE_DEFAULTS = {
  idleMarginRatio: 0.1,
  idleMarginWatts: 5,
  /** 1 J per minute of window. */
  workloadJoulesPerMs: 1 / 60_000,
  coverageSlackMs: 2 * 60_000,
} as const;

export type IdleAction = "power-off" | "power-on" | "keep-on" | "keep-off" | "keep";

export interface IdleDecision {
  node: string;
  role: "control" | "worker";
  power: PowerState;
  action: IdleAction;
  reason: string;
  /** Whether the node is idle by the definition above (workers only), and why not. */
  idle?: { idle: boolean; why: string[] };
  volumesInUse?: string[];
}

export interface IdleAssessment {
  idle: boolean;
  /** Why not idle (empty when idle), or, when idle, the evidence. */
  why: string[];
}

const minutes = (ms: number) => +(ms / 60_000).toFixed(1);
const watts = (w: number) => `${+w.toFixed(1)} W`;

export function isSystemPod(pod: PodFact, systemNamespaces: readonly string[]): boolean {
  return pod.daemonSet || systemNamespaces.includes(pod.namespace);
}

const ACTIVE_PHASES = new Set(["Pending", "Running", "Unknown"]);

/** Workload pods currently on `node`. */
export function workloadPodsOn(node: string, pods: readonly PodFact[], s: IdleSettings): PodFact[] {
  return pods.filter(
    (p) => p.node === node && ACTIVE_PHASES.has(p.phase) && !isSystemPod(p, s.systemNamespaces),
  );
}

/** Volumes in use on `node`: PVCs of any active pod; hostPath/local volumes of non-DaemonSet pods. */
export function volumesInUse(node: string, pods: readonly PodFact[]): string[] {
  const out: string[] = [];
  for (const p of pods) {
    if (p.node !== node || !ACTIVE_PHASES.has(p.phase)) continue;
    for (const c of p.claims) out.push(`${p.namespace}/${p.name} mounts PVC ${c}`);
    if (!p.daemonSet)
      for (const v of p.hostVolumes) out.push(`${p.namespace}/${p.name} mounts host volume ${v}`);
  }
  return out.sort();
}

/** Pods Pending because no node has enough CPU or memory. */
export function pendingForResources(pods: readonly PodFact[]): PodFact[] {
  return pods
    .filter(
      (p) =>
        p.phase === "Pending" &&
        p.unschedulable?.reason === "Unschedulable" &&
        /Insufficient (cpu|memory)/.test(p.unschedulable.message),
    )
    .sort((a, b) => key(a).localeCompare(key(b)));
}

const key = (p: PodFact) => `${p.namespace}/${p.name}`;

/** The idle definition of the module comment, item by item; every failed item is a reason. */
export function assessIdle(node: NodeFacts, pods: readonly PodFact[], s: IdleSettings): IdleAssessment {
  const why: string[] = [];
  const windowStart = s.nowMs - s.idleForMs;
  const running = workloadPodsOn(node.name, pods, s);
  if (running.length > 0) {
    why.push(
      `${running.length} workload pod(s) on it: ${running
        .map(key)
        .sort()
        .slice(0, 3)
        .join(", ")}${running.length > 3 ? ", ..." : ""}`,
    );
  }
  const lastEnd = Math.max(
    -Infinity,
    ...pods
      .filter(
        (p) => p.node === node.name && !isSystemPod(p, s.systemNamespaces) && p.finishedMs !== undefined,
      )
      .map((p) => p.finishedMs!),
  );
  if (lastEnd > windowStart) {
    why.push(`a workload pod finished ${minutes(s.nowMs - lastEnd)} min ago (< ${minutes(s.idleForMs)} min)`);
  }
  const k = node.kepler;
  if (!k) {
    why.push("no Kepler data for this node: no evidence of idleness");
    return { idle: false, why };
  }
  if (k.firstSampleMs === undefined || k.firstSampleMs > windowStart + s.coverageSlackMs) {
    why.push(
      k.firstSampleMs === undefined
        ? `Kepler has no samples in the last ${minutes(s.idleForMs)} min`
        : `Kepler covers only the last ${minutes(s.nowMs - k.firstSampleMs)} min of ${minutes(s.idleForMs)} min`,
    );
  }
  const maxJoules = s.workloadJoulesPerMs * s.idleForMs;
  if (k.workloadJoules > maxJoules) {
    why.push(
      `Kepler attributes ${Math.round(k.workloadJoules)} J to workload pods in the last ${minutes(s.idleForMs)} min (idle: <= ${Math.round(maxJoules)} J)`,
    );
  }
  if (k.peakWatts === undefined || k.idleWatts === undefined) {
    why.push(`Kepler has no ${k.source} power for this node`);
  } else {
    const limit = k.idleWatts + Math.max(s.idleMarginRatio * k.idleWatts, s.idleMarginWatts);
    if (k.peakWatts > limit) {
      why.push(
        `Kepler shows load: ${k.source} peaked at ${watts(k.peakWatts)} (5-min average) in the last ${minutes(s.idleForMs)} min; idle draw ${watts(k.idleWatts)}, idle up to ${watts(limit)}`,
      );
    }
  }
  if (why.length > 0) return { idle: false, why };
  return {
    idle: true,
    why: [
      `no workload pods for >= ${minutes(s.idleForMs)} min`,
      `${k.source} peak ${watts(k.peakWatts!)} within idle draw ${watts(k.idleWatts!)} + margin`,
    ],
  };
}

const isOn = (p: PowerState) => p === "On" || p === "PoweringOn";

/** One pass of the policy: a decision with its reason for every node, ordered by name. */
export function decideIdle(
  nodes: readonly NodeFacts[],
  pods: readonly PodFact[],
  s: IdleSettings,
): IdleDecision[] {
  const sorted = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  const pending = pendingForResources(pods);
  const workers = sorted.filter((n) => n.role === "worker");
  let workersOn = workers.filter((n) => isOn(n.power)).length;
  let poweredOnOne = false;
  const decisions: IdleDecision[] = [];

  for (const n of sorted) {
    const base = { node: n.name, role: n.role, power: n.power };
    if (n.role === "control") {
      decisions.push({
        ...base,
        action: "keep",
        reason: "control node: never powered off or on by the idle policy",
      });
      continue;
    }
    if (!n.hasBmc) {
      decisions.push({
        ...base,
        action: "keep",
        reason: "no BMC in the inventory: cannot be powered off or on",
      });
      continue;
    }
    if (n.power === "unknown") {
      decisions.push({
        ...base,
        action: "keep",
        reason: "power state unknown (the BMC did not answer): left as it is",
      });
      continue;
    }
    if (n.power === "PoweringOff") {
      decisions.push({ ...base, action: "keep-off", reason: "already powering off" });
      continue;
    }

    if (n.power === "Off") {
      if (pending.length > 0 && !poweredOnOne) {
        poweredOnOne = true;
        workersOn++;
        decisions.push({
          ...base,
          action: "power-on",
          reason: `${pending.length} pod(s) Pending for lack of resources (${pending
            .slice(0, 3)
            .map((p) => `${key(p)}: ${p.unschedulable!.message}`)
            .join("; ")}${pending.length > 3 ? "; ..." : ""})`,
        });
      } else {
        decisions.push({
          ...base,
          action: "keep-off",
          reason:
            pending.length > 0
              ? "pods are Pending for lack of resources, but one worker is powered on per pass"
              : "no pods Pending for lack of resources",
        });
      }
      continue;
    }

    // On or PoweringOn.
    const assessment = assessIdle(n, pods, s);
    const volumes = volumesInUse(n.name, pods);
    const extra = { idle: assessment, ...(volumes.length ? { volumesInUse: volumes } : {}) };
    if (!assessment.idle) {
      decisions.push({
        ...base,
        ...extra,
        action: "keep-on",
        reason: `not idle: ${assessment.why.join("; ")}`,
      });
    } else if (volumes.length > 0) {
      decisions.push({
        ...base,
        ...extra,
        action: "keep-on",
        reason: `idle, but holds volumes in use: ${volumes.join(", ")}`,
      });
    } else if (pending.length > 0) {
      decisions.push({
        ...base,
        ...extra,
        action: "keep-on",
        reason: `idle, but ${pending.length} pod(s) are Pending for lack of resources`,
      });
    } else if (workersOn - 1 < s.minWorkersOn) {
      decisions.push({
        ...base,
        ...extra,
        action: "keep-on",
        reason: `idle, but power.min_workers_on is ${s.minWorkersOn} and ${workersOn} worker(s) are on`,
      });
    } else {
      workersOn--;
      decisions.push({
        ...base,
        ...extra,
        action: "power-off",
        reason: `idle: ${assessment.why.join("; ")}`,
      });
    }
  }
  return decisions;
}
