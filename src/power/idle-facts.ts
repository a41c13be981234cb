/**
 * The facts `powerstack power idle` decides on, gathered from the world: pods from `kubectl get pods -A
 * -o json` (through the Cluster boundary, on the control node) and Kepler's series from Prometheus. The
 * decisions themselves are pure, in `idle-policy.ts`.
 */
import type { Cluster } from "../cluster/cluster.js";
import { PowerstackError } from "../errors.js";
import type { PrometheusClient } from "../prometheus/client.js";
import { selector, type KeplerLine } from "../prometheus/kepler-metrics.js";
import type { KeplerNodeFacts, PodFact } from "./idle-policy.js";

interface K8sPod {
  metadata?: { namespace?: string; name?: string; ownerReferences?: Array<{ kind?: string }> };
  spec?: {
    nodeName?: string;
    volumes?: Array<{
      name?: string;
      persistentVolumeClaim?: { claimName?: string };
      hostPath?: unknown;
      local?: unknown;
    }>;
  };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
    containerStatuses?: Array<{
      state?: { running?: { startedAt?: string }; terminated?: { startedAt?: string; finishedAt?: string } };
    }>;
  };
}

const time = (s: string | undefined) => {
  const ms = s ? Date.parse(s) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
};
const maxOf = (xs: Array<number | undefined>) => {
  const defined = xs.filter((x): x is number => x !== undefined);
  return defined.length ? Math.max(...defined) : undefined;
};

/** `kubectl get pods -A -o json` to the policy's pod facts. */
export function parsePods(json: string): PodFact[] {
  const list = JSON.parse(json) as { items?: K8sPod[] };
  return (list.items ?? []).map((p): PodFact => {
    const statuses = p.status?.containerStatuses ?? [];
    const phase = p.status?.phase ?? "Unknown";
    const scheduled = p.status?.conditions?.find((c) => c.type === "PodScheduled");
    const volumes = p.spec?.volumes ?? [];
    const fact: PodFact = {
      namespace: p.metadata?.namespace ?? "default",
      name: p.metadata?.name ?? "?",
      ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
      phase,
      daemonSet: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet"),
      claims: volumes.flatMap((v) =>
        v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
      ),
      hostVolumes: volumes.flatMap((v) => (v.hostPath || v.local ? [v.name ?? "?"] : [])),
    };
    const started = maxOf([
      time(p.status?.startTime),
      ...statuses.map((c) => time(c.state?.running?.startedAt ?? c.state?.terminated?.startedAt)),
    ]);
    if (started !== undefined) fact.startedMs = started;
    if (phase === "Succeeded" || phase === "Failed") {
      const finished = maxOf(statuses.map((c) => time(c.state?.terminated?.finishedAt)));
      if (finished !== undefined) fact.finishedMs = finished;
    }
    if (scheduled?.status === "False") {
      fact.unschedulable = { reason: scheduled.reason ?? "", message: scheduled.message ?? "" };
    }
    return fact;
  });
}

export async function readPods(cluster: Cluster): Promise<PodFact[]> {
  const res = await cluster.kubectl(["get", "pods", "--all-namespaces", "-o", "json"], { timeoutSec: 60 });
  if (res.code !== 0) {
    throw new PowerstackError(
      `kubectl get pods --all-namespaces failed: ${(res.stderr.trim() || `exit code ${res.code}`).split("\n").slice(-2).join(" / ")}`,
      1,
      "run `powerstack verify` to check the cluster; the idle policy decides nothing without the pods",
    );
  }
  return parsePods(res.stdout);
}

/**
 * A node's power in watts as 5-minute averages, per node label, from one source: the platform (whole
 * server, from the BMC through Kepler) first; where Kepler has no platform power for a node (no Redfish
 * configured in Kepler), its CPU package (RAPL), which sees CPU load but not disks, fans or GPUs.
 */
export interface WattsSource {
  source: "platform" | "CPU package";
  /** 5-minute average watts per node. */
  expr: string;
  /** The raw series, for first/last sample times. */
  samples: string;
}

export function wattsSources(line: KeplerLine): WattsSource[] {
  const p = line.nodePlatform;
  const by = line.nodeLabel;
  const platform: WattsSource =
    p.kind === "gauge"
      ? // PowerControl entries overlap (whole server and its parts): the largest bounds the rest.
        { source: "platform", expr: `max by (${by}) (avg_over_time(${p.metric}[5m]))`, samples: p.metric }
      : { source: "platform", expr: `sum by (${by}) (rate(${selector(p)}[5m]))`, samples: selector(p) };
  const cpu: WattsSource = {
    source: "CPU package",
    expr: `sum by (${by}) (rate(${selector(line.nodeCpu)}[5m]))`,
    samples: selector(line.nodeCpu),
  };
  return [platform, cpu];
}

export interface SourceQueries {
  source: WattsSource["source"];
  peak: string;
  idle: string;
  first: string;
  last: string;
}

const ms = (n: number) => `${Math.round(n)}ms`;

/**
 * The queries behind a node's Kepler facts, evaluated at the window's end, per watts source: peak, the
 * highest 5-min average power in the window; idle, the lowest 5-min average over the baseline; first and
 * last, the earliest sample time in the window and the latest over the baseline. And workload: joules of
 * pods outside the system namespaces over the window.
 */
export function keplerQueries(
  line: KeplerLine,
  windowMs: number,
  baselineMs: number,
  systemNamespaces: readonly string[],
): { sources: SourceQueries[]; workload: string } {
  const by = line.nodeLabel;
  const notSystem = `${line.namespaceLabel}!~"${systemNamespaces.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|")}"`;
  const workload = {
    metric: line.workload.metric,
    matchers: [line.workload.matchers, notSystem].filter(Boolean).join(","),
  };
  return {
    sources: wattsSources(line).map((w) => ({
      source: w.source,
      peak: `max_over_time((${w.expr})[${ms(windowMs)}:1m])`,
      idle: `min_over_time((${w.expr})[${ms(baselineMs)}:5m])`,
      first: `min by (${by}) (min_over_time(timestamp(${w.samples})[${ms(windowMs)}:30s]))`,
      last: `max by (${by}) (max_over_time(timestamp(${w.samples})[${ms(baselineMs)}:1m]))`,
    })),
    // Legacy workload series carry no node label of their own: Kepler's `instance` is the node.
    workload: `sum by (${by}) (increase(${selector(workload)}[${ms(windowMs)}]))`,
  };
}

/** Kepler's facts per node name over `[nowMs - windowMs, nowMs]`. */
export async function readKeplerFacts(
  prom: PrometheusClient,
  line: KeplerLine,
  {
    nowMs,
    windowMs,
    baselineMs,
    systemNamespaces,
  }: {
    nowMs: number;
    windowMs: number;
    baselineMs: number;
    systemNamespaces: readonly string[];
  },
): Promise<Map<string, KeplerNodeFacts>> {
  const q = keplerQueries(line, windowMs, baselineMs, systemNamespaces);
  const by = line.nodeLabel;
  const byNode = async (expr: string) =>
    new Map(
      (await prom.instant(expr, nowMs)).filter((s) => s.labels[by]).map((s) => [s.labels[by]!, s.value]),
    );
  const [sources, workload] = await Promise.all([
    Promise.all(
      q.sources.map(async (sq) => {
        const [peak, idle, first, last] = await Promise.all([
          byNode(sq.peak),
          byNode(sq.idle),
          byNode(sq.first),
          byNode(sq.last),
        ]);
        return { source: sq.source, peak, idle, first, last };
      }),
    ),
    byNode(q.workload),
  ]);
  const nodes = new Set([
    ...workload.keys(),
    ...sources.flatMap((x) => [...x.idle.keys(), ...x.last.keys()]),
  ]);
  const facts = new Map<string, KeplerNodeFacts>();
  for (const node of [...nodes].sort()) {
    // The first source with a reading of this node in the baseline: platform, else CPU package.
    const src = sources.find((x) => x.idle.has(node) || x.last.has(node)) ?? sources[0]!;
    const f: KeplerNodeFacts = { workloadJoules: workload.get(node) ?? 0, source: src.source };
    const peak = src.peak.get(node);
    const idle = src.idle.get(node);
    const first = src.first.get(node);
    const last = src.last.get(node);
    if (peak !== undefined) f.peakWatts = peak;
    if (idle !== undefined) f.idleWatts = idle;
    if (first !== undefined) f.firstSampleMs = Math.round(first * 1000);
    if (last !== undefined) f.lastSampleMs = Math.round(last * 1000);
    facts.set(node, f);
  }
  return facts;
}
