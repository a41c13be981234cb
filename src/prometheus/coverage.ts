/**
 * How well the window is covered by samples, per node: missed scrapes (gaps), a window that starts
 * before Kepler's first sample or ends after its last, and counter resets (Kepler restarts).
 *
 * increase() bridges a gap with the counter's difference, so energy is kept as long as Kepler kept
 * counting; but a gap with a restart in it loses what was counted between the last scrape and the
 * restart, and a gap at the window's edge is extrapolated by at most half an interval. Either way the
 * reader should know, so the report lists them.
 *
 * Read from the raw node CPU samples (a handful of series per node), fetched in chunks so a long window
 * never asks Prometheus for one huge answer. The expected interval is the median spacing of the node's own
 * samples: Kepler's ServiceMonitor interval often differs from Prometheus' global one.
 */
import type { PrometheusClient, RawSeries } from "./client.js";
import { planLines } from "./kepler-detect.js";
import { isDetect, type KeplerLine, type LineSetting } from "./kepler-metrics.js";
import { rawNodeSamples } from "./promql.js";
import type { Window } from "./window.js";

export interface Gap {
  fromMs: number;
  toMs: number;
  /** `inside`: between two samples; `start`/`end`: the window reaches past the first/last sample. */
  where: "inside" | "start" | "end";
  /** Scrapes that should have happened in the gap, at the node's usual interval. */
  missedScrapes: number;
}

export interface NodeCoverage {
  node: string;
  /** Scrapes seen in the window. */
  samples: number;
  /** Median spacing of those scrapes, seconds; undefined with fewer than two. */
  intervalS?: number;
  firstMs?: number;
  lastMs?: number;
  gaps: Gap[];
  /** Times (ms) of the first sample after each counter reset. */
  resetsMs: number[];
}

/** A spacing this many intervals wide means at least one scrape was missed. */
const GAP_FACTOR = 1.5;
/** Chunk length for raw-sample queries: 6 h of 5 s scrapes is ~4k samples per series. */
const CHUNK_MS = 6 * 3_600_000;

/** Coverage of the named line's nodes, or (detected) of each node's own line, as energy is priced. */
export async function readCoverage(
  client: PrometheusClient,
  line: LineSetting,
  w: Window,
): Promise<NodeCoverage[]> {
  if (!isDetect(line)) return readLineCoverage(client, line, w);
  const plan = await planLines(client, line, w, { from: "detect" });
  const per = await Promise.all(plan.parts.map((p) => readLineCoverage(client, p.line, w)));
  return per.flat().sort((a, b) => a.node.localeCompare(b.node));
}

export async function readLineCoverage(
  client: PrometheusClient,
  line: KeplerLine,
  w: Window,
): Promise<NodeCoverage[]> {
  const series = new Map<string, { node: string; samples: Array<[number, number]> }>();
  for (let from = w.fromMs; from < w.toMs; from += CHUNK_MS) {
    const to = Math.min(from + CHUNK_MS, w.toMs);
    const chunk = await client.raw(rawNodeSamples(line, { fromMs: from, toMs: to }), to);
    for (const s of chunk) addChunk(series, s, line.nodeLabel);
  }
  const byNode = new Map<string, Array<Array<[number, number]>>>();
  for (const { node, samples } of series.values()) byNode.set(node, [...(byNode.get(node) ?? []), samples]);
  return [...byNode.entries()]
    .map(([node, list]) => analyse(node, list, w))
    .sort((a, b) => a.node.localeCompare(b.node));
}

function addChunk(
  series: Map<string, { node: string; samples: Array<[number, number]> }>,
  s: RawSeries,
  nodeLabel: string,
): void {
  const key = JSON.stringify(Object.entries(s.labels).sort());
  const entry = series.get(key) ?? { node: s.labels[nodeLabel] ?? "(no node label)", samples: [] };
  const last = entry.samples.at(-1)?.[0] ?? -Infinity;
  // Chunks share their boundary instant (ranges are closed), so skip what the previous chunk had.
  for (const sample of s.samples) if (sample[0] > last) entry.samples.push(sample);
  series.set(key, entry);
}

/** Pure: the coverage of one node from its series' samples (exported for tests). */
export function analyse(
  node: string,
  seriesSamples: Array<Array<[number, number]>>,
  w: Window,
): NodeCoverage {
  // One scrape writes every series of a node at the same timestamp: the union is the scrape times.
  const times = [...new Set(seriesSamples.flatMap((s) => s.map(([t]) => t)))].sort((a, b) => a - b);
  const resets = new Set<number>();
  for (const s of seriesSamples) {
    for (let i = 1; i < s.length; i++) if (s[i]![1] < s[i - 1]![1]) resets.add(s[i]![0]);
  }
  const cov: NodeCoverage = {
    node,
    samples: times.length,
    gaps: [],
    resetsMs: [...resets].sort((a, b) => a - b),
  };
  if (times.length === 0) return cov;
  cov.firstMs = times[0];
  cov.lastMs = times.at(-1);
  if (times.length < 2) return cov;

  const spacings = times.slice(1).map((t, i) => t - times[i]!);
  const interval = median(spacings);
  cov.intervalS = interval / 1000;
  const gap = (fromMs: number, toMs: number, where: Gap["where"]): void => {
    if (toMs - fromMs > GAP_FACTOR * interval) {
      cov.gaps.push({
        fromMs,
        toMs,
        where,
        missedScrapes: Math.max(1, Math.round((toMs - fromMs) / interval) - (where === "inside" ? 1 : 0)),
      });
    }
  };
  gap(w.fromMs, times[0]!, "start");
  for (let i = 1; i < times.length; i++) gap(times[i - 1]!, times[i]!, "inside");
  gap(times.at(-1)!, w.toMs, "end");
  return cov;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
