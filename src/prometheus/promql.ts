/**
 * PromQL for energy over a window. Every energy figure is `increase()` evaluated at the window's end with
 * the window's length as its range, so it covers exactly that window and counter resets (a Kepler
 * restart) are bridged by Prometheus. increase() runs per series first and is summed after: summing
 * counters before increase() would turn one series' reset into a drop of the whole sum.
 *
 * Prometheus 2.x selects samples in [end - range, end] and extrapolates the first/last sample to the
 * window's edges (by at most half a scrape interval when the edge is far from a sample), so a window
 * whose edges fall on samples gives exactly last - first (+ the value before each reset).
 */
import {
  groupLabels,
  selector,
  type CounterSeries,
  type Grouping,
  type KeplerLine,
} from "./kepler-metrics.js";
import { promRange, type Window } from "./window.js";

/** Joules per group over the window. */
export function increaseBy(series: CounterSeries, labels: string[], w: Window): string {
  return `sum by (${labels.join(", ")}) (increase(${selector(series)}[${promRange(w)}]))`;
}

export function energyQuery(line: KeplerLine, by: Grouping, w: Window): string {
  return increaseBy(by === "node" ? line.nodeCpu : line.workload, groupLabels(line, by), w);
}

/**
 * Node platform power. Legacy exports joules: increase() like the rest. Current exports only a watts gauge
 * per BMC PowerControl entry (whole server, CPU subsystem, memory, ...): those overlap, so per node the
 * largest entry (the whole server bounds its parts) is taken, never the sum; its mean over the window
 * times the window's length is the energy (the caller multiplies, keeping this a plain watts query).
 */
export function platformQuery(line: KeplerLine, w: Window): { expr: string; unit: "J" | "W" } {
  const p = line.nodePlatform;
  if (p.kind === "counter") return { expr: increaseBy(p, [line.nodeLabel], w), unit: "J" };
  return { expr: `max by (${line.nodeLabel}) (avg_over_time(${selector(p)}[${promRange(w)}]))`, unit: "W" };
}

/** Raw samples of the node CPU series over (part of) a window: what gaps and resets are read from. */
export function rawNodeSamples(line: KeplerLine, w: Window): string {
  return `${selector(line.nodeCpu)}[${promRange(w)}]`;
}

/** Is there any series of `metric` (with `matchers`) in the window? One number per `by` label value. */
export function presence(metric: string, matchers: string, w: Window, by?: string): string {
  const sel = selector({ metric, matchers });
  return `count${by ? ` by (${by})` : ""} (last_over_time(${sel}[${promRange(w)}]))`;
}
