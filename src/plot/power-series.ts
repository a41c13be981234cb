/**
 * Power over a window, for plots: watts per group (node, namespace or pod) and the platform (BMC) watts
 * per node, at evenly spaced times, from Prometheus' query_range. The series are the ones `energy` prices
 * (the same Kepler line per node, the same counters and zones, see kepler-metrics.ts), as rate() instead
 * of increase(): power is the slope of the joule counters, and rate() bridges counter resets the same way.
 *
 * The step keeps a plot at <= MAX_POINTS points per series whatever the window; the rate range follows
 * Grafana's $__rate_interval (max(step + scrape, 4 x scrape)) so every point spans enough scrapes to have
 * a slope even when one or two are missing. Each point is the power over the range *ending* at its time.
 */
import type { PrometheusClient, RawSeries } from "../prometheus/client.js";
import type { EnergyReport } from "../prometheus/energy-report.js";
import type { LinePlan } from "../prometheus/kepler-detect.js";
import { groupLabels, selector, type Grouping, type KeplerLine } from "../prometheus/kepler-metrics.js";
import type { Window } from "../prometheus/window.js";

/** Roughly one point per two pixels of a 600-pixel-wide panel: more adds bytes, not detail. */
export const MAX_POINTS = 300;

/** Steps a person would choose (and Prometheus caches well): whole seconds, minutes, hours. */
const NICE_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

export interface GroupPower {
  /** The group's name as `energy` prints it: `node-a`, `batch`, `batch/job-1`. */
  name: string;
  /** Watts at each of `PowerSeries.times`; null where Prometheus had no value (no samples in the range). */
  watts: Array<number | null>;
}

export interface PowerSeries {
  by: Grouping;
  window: Window;
  stepMs: number;
  /** The rate()/avg_over_time() range each point covers, ending at its time. */
  rangeMs: number;
  /** Evaluation times, oldest first: window start, every step, up to the window end. */
  times: number[];
  groups: GroupPower[];
  /** Whole-server power per node (Redfish/ACPI), where Kepler exports it; `name` is the node. */
  platform: GroupPower[];
  /** The PromQL that produced the series, so a reader can rerun it. */
  queries: string[];
}

/** The smallest nice step that keeps the window within MAX_POINTS points. */
export function chooseStepMs(w: Window): number {
  const wanted = (w.toMs - w.fromMs) / MAX_POINTS / 1000;
  const nice = NICE_STEPS_S.find((s) => s >= wanted);
  return (nice ?? Math.ceil(wanted / 86400) * 86400) * 1000;
}

export function rateRangeMs(stepMs: number, scrapeIntervalMs: number): number {
  return Math.max(stepMs + scrapeIntervalMs, 4 * scrapeIntervalMs);
}

const MISSING = "(none)";

/** Watts per group for one line: the priced counter as rate(), summed per group after rate(). */
export function groupPowerQuery(line: KeplerLine, by: Grouping, rangeMs: number): string {
  const series = by === "node" ? line.nodeCpu : line.workload;
  return `sum by (${groupLabels(line, by).join(", ")}) (rate(${selector(series)}[${rangeMs}ms]))`;
}

/**
 * Platform watts per node. Legacy: rate() of the joule counter. Current: the watts gauge, averaged over
 * the same range, the largest BMC PowerControl entry per node (the whole server; never the sum of
 * overlapping entries, as promql.ts explains for the energy figure).
 */
export function platformPowerQuery(line: KeplerLine, rangeMs: number): string {
  const p = line.nodePlatform;
  const range = `[${rangeMs}ms]`;
  if (p.kind === "counter") return `sum by (${line.nodeLabel}) (rate(${selector(p)}${range}))`;
  return `max by (${line.nodeLabel}) (avg_over_time(${selector(p)}${range}))`;
}

export interface PowerSeriesOptions {
  /** Prometheus' scrape interval of Kepler (the inventory's `cluster.monitoring.scrape_interval`). */
  scrapeIntervalMs: number;
  /** Override the step (tests, or a caller that wants a finer grid); still capped to MAX_POINTS. */
  stepMs?: number;
}

/**
 * Power series for the window and line plan of an energy report (so they price the same nodes). The
 * scrape interval is the one the node series actually have where the report read their coverage (Kepler's
 * ServiceMonitor often scrapes at another interval than Prometheus' global one), else `scrapeIntervalMs`.
 */
export async function collectPowerSeries(
  client: PrometheusClient,
  report: Pick<EnergyReport, "plan" | "by" | "window"> & Partial<Pick<EnergyReport, "coverage">>,
  opts: PowerSeriesOptions,
): Promise<PowerSeries> {
  const seen = (report.coverage ?? []).flatMap((c) => (c.intervalS ? [c.intervalS * 1000] : []));
  const scrapeIntervalMs = seen.length ? Math.max(...seen) : opts.scrapeIntervalMs;
  return collectPowerSeriesFor(client, report.plan, report.by, report.window, { ...opts, scrapeIntervalMs });
}

export async function collectPowerSeriesFor(
  client: PrometheusClient,
  plan: LinePlan,
  by: Grouping,
  w: Window,
  opts: PowerSeriesOptions,
): Promise<PowerSeries> {
  const stepMs = Math.max(opts.stepMs ?? 0, chooseStepMs(w));
  const rangeMs = rateRangeMs(stepMs, opts.scrapeIntervalMs);
  const times: number[] = [];
  for (let t = w.fromMs; t <= w.toMs; t += stepMs) times.push(t);

  const queries: string[] = [];
  const groups = new Map<string, Array<number | null>>();
  const platform = new Map<string, Array<number | null>>();
  await Promise.all(
    plan.parts.map(async ({ line }) => {
      const labels = groupLabels(line, by);
      const gq = groupPowerQuery(line, by, rangeMs);
      const pq = platformPowerQuery(line, rangeMs);
      queries.push(gq, pq);
      const [g, p] = await Promise.all([
        client.range(gq, w.fromMs, w.toMs, stepMs),
        client.range(pq, w.fromMs, w.toMs, stepMs),
      ]);
      // Both lines can hold the same namespace (pods on nodes of each): their watts add up.
      for (const s of g)
        addInto(groups, labels.map((l) => s.labels[l] || MISSING).join("/"), s, w, stepMs, times);
      for (const s of p) addInto(platform, s.labels[line.nodeLabel] || MISSING, s, w, stepMs, times);
    }),
  );
  const sorted = (m: Map<string, Array<number | null>>) =>
    [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, watts]) => ({ name, watts }));
  return {
    by,
    window: w,
    stepMs,
    rangeMs,
    times,
    groups: sorted(groups),
    platform: sorted(platform),
    queries: queries.sort(),
  };
}

function addInto(
  into: Map<string, Array<number | null>>,
  name: string,
  s: RawSeries,
  w: Window,
  stepMs: number,
  times: number[],
): void {
  let watts = into.get(name);
  if (!watts) into.set(name, (watts = times.map(() => null)));
  for (const [t, v] of s.samples) {
    const i = Math.round((t - w.fromMs) / stepMs);
    if (i < 0 || i >= watts.length || !Number.isFinite(v)) continue;
    watts[i] = (watts[i] ?? 0) + v;
  }
}
