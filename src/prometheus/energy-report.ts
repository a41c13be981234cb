/**
 * Energy over one window, grouped by node, namespace or pod: the queries, run against Prometheus, turned
 * into rows sorted by energy. The node view also carries DRAM and platform energy beside the CPU figure
 * (where Kepler exports them); those are shown, never added to the priced figure: they overlap it
 * (platform includes CPU and DRAM) or come from another meter.
 */
import type { PrometheusClient, InstantSample } from "./client.js";
import { readCoverage, type NodeCoverage } from "./coverage.js";
import { explainMissing, type FlavourSource } from "./diagnose.js";
import { groupLabels, primarySeries, selector, type Grouping, type KeplerLine } from "./kepler-metrics.js";
import { energyQuery, increaseBy, platformQuery } from "./promql.js";
import { windowSeconds, type Window } from "./window.js";

export interface EnergyRow {
  /** The grouping labels' values, e.g. `{ namespace: "batch", pod: "job-1" }` (keys: node, namespace, pod). */
  key: Record<string, string>;
  /** Joules of the priced figure (node: CPU package; namespace/pod: the workload series). */
  joules: number;
  /** Node view only: DRAM and platform joules, undefined where the node exports none. */
  dramJ?: number;
  platformJ?: number;
}

export interface EnergyReport {
  line: KeplerLine;
  by: Grouping;
  window: Window;
  rows: EnergyRow[];
  /** Raw-sample coverage of the node series: gaps, resets. */
  coverage: NodeCoverage[];
  /** The PromQL that produced the priced figure, so a reader can rerun it. */
  query: string;
  /** Figures that had no data at all (e.g. no Redfish): shown as `-` with this explanation. */
  notes: string[];
}

const MISSING = "(none)";

export interface CollectOptions {
  nowMs: number;
  flavourSource: FlavourSource;
  /** Skip reading raw samples (a window we only compare, e.g. a baseline whose coverage is read separately). */
  coverage?: boolean;
}

export async function collectEnergy(
  client: PrometheusClient,
  line: KeplerLine,
  by: Grouping,
  w: Window,
  opts: CollectOptions,
): Promise<EnergyReport> {
  const labels = groupLabels(line, by);
  const names = by === "pod" ? ["namespace", "pod"] : [by];
  const keyOf = (s: InstantSample) =>
    Object.fromEntries(names.map((n, i) => [n, s.labels[labels[i]!] || MISSING]));
  const query = energyQuery(line, by, w);

  const primary = await client.instant(query, w.toMs);
  if (primary.length === 0) {
    throw await explainMissing(client, line, primarySeries(line, by), w, opts.nowMs, opts.flavourSource);
  }
  const rows: EnergyRow[] = primary.map((s) => ({ key: keyOf(s), joules: s.value }));
  const notes: string[] = [];

  if (by === "node") {
    const byNode = new Map(rows.map((r) => [r.key.node!, r]));
    const dram = await client.instant(increaseBy(line.nodeDram, [line.nodeLabel], w), w.toMs);
    for (const s of dram) {
      const row = byNode.get(s.labels[line.nodeLabel] || MISSING);
      if (row) row.dramJ = s.value;
    }
    if (dram.length === 0)
      notes.push(
        `DRAM: no \`${selector(line.nodeDram)}\` in the window (no RAPL DRAM domain on these CPUs, or filtered by Kepler's rapl.zones)`,
      );

    const platform = platformQuery(line, w);
    const plat = await client.instant(platform.expr, w.toMs);
    for (const s of plat) {
      const row = byNode.get(s.labels[line.nodeLabel] || MISSING);
      if (row) row.platformJ = platform.unit === "W" ? s.value * windowSeconds(w) : s.value;
    }
    if (plat.length === 0) {
      notes.push(
        `platform: no \`${line.nodePlatform.metric}\` in the window (Kepler reads platform power from the BMC over Redfish` +
          `${line.flavour === "legacy" ? " or ACPI" : ""}; enable it in the inventory's nodes[].bmc)`,
      );
    }
  }

  rows.sort((a, b) => b.joules - a.joules || labelOf(a).localeCompare(labelOf(b)));
  if (rows.every((r) => r.joules === 0)) {
    notes.push(
      "every energy figure is zero: Kepler runs but reads no energy (known failure, kepler issues #1580/#959: RAPL unreadable, perf_event_paranoid not -1)",
    );
  }
  const coverage = opts.coverage === false ? [] : await readCoverage(client, line, w);
  return { line, by, window: w, rows, coverage, query, notes };
}

/** A row's name for people: `node-a`, `batch`, `batch/job-1`. */
export function labelOf(row: { key: Record<string, string> }): string {
  return Object.values(row.key).join("/");
}
