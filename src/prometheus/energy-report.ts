/**
 * Energy over one window, grouped by node, namespace or pod: the queries, run against Prometheus, turned
 * into rows sorted by energy. The node view also carries DRAM and platform energy beside the CPU figure
 * (where Kepler exports them); those are shown, never added to the priced figure: they overlap it
 * (platform includes CPU and DRAM) or come from another meter.
 *
 * The Kepler line is planned per window first (kepler-detect.ts): usually one line; while a cluster
 * moves between lines, each line prices its own nodes and a namespace's rows from both are added.
 */
import type { KeplerFlavour } from "../inventory/types.js";
import type { PrometheusClient, InstantSample } from "./client.js";
import { readLineCoverage, type NodeCoverage } from "./coverage.js";
import { explainMissing, type FlavourSource } from "./diagnose.js";
import { planLines, type LinePlan } from "./kepler-detect.js";
import {
  groupLabels,
  primarySeries,
  selector,
  type Grouping,
  type KeplerLine,
  type LineSetting,
} from "./kepler-metrics.js";
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
  /** The Kepler line(s) the figure came from: two for a namespace with pods on nodes of both lines. */
  lines?: KeplerFlavour[];
}

export interface EnergyReport {
  /** What was asked for: a named line, or detection. */
  line: LineSetting;
  /** Which line priced which node in this window. */
  plan: LinePlan;
  by: Grouping;
  window: Window;
  rows: EnergyRow[];
  /** Raw-sample coverage of the node series: gaps, resets. */
  coverage: NodeCoverage[];
  /** The PromQL that produced the priced figure, so a reader can rerun it (one per line, joined by `or`). */
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
  line: LineSetting,
  by: Grouping,
  w: Window,
  opts: CollectOptions,
): Promise<EnergyReport> {
  const plan = await planLines(client, line, w, opts.flavourSource);
  const parts = await Promise.all(plan.parts.map((p) => collectLine(client, p.line, by, w)));
  if (parts.every((p) => p.rows.length === 0)) {
    // Explained for what was asked: the named line, or both lines when detecting.
    const asked = plan.parts.length === 1 && !plan.detected ? plan.parts[0]!.line : line;
    throw await explainMissing(client, asked, primarySeries(asked, by), w, opts.nowMs, opts.flavourSource);
  }
  const mixed = parts.length > 1;
  const notes = [...plan.notes];
  for (const p of parts) {
    if (mixed && p.rows.length === 0)
      notes.push(
        `${p.line.flavour} line: no \`${selector(primarySeries(p.line, by))}\` with two samples in the window`,
      );
    // With both lines, say which line a missing figure is missing from.
    notes.push(...p.notes.map((n) => (mixed ? `${p.line.flavour} line: ${n}` : n)));
  }

  const rows = mergeRows(parts.flatMap((p) => p.rows));
  rows.sort((a, b) => b.joules - a.joules || labelOf(a).localeCompare(labelOf(b)));
  if (rows.every((r) => r.joules === 0)) {
    notes.push(
      "every energy figure is zero: Kepler runs but reads no energy (known failure, kepler issues #1580/#959: RAPL unreadable, perf_event_paranoid not -1)",
    );
  }
  const coverage = opts.coverage === false ? [] : await readPlanCoverage(client, plan, w);
  return {
    line,
    plan,
    by,
    window: w,
    rows,
    coverage,
    query: parts.map((p) => p.query).join(" or "),
    notes,
  };
}

/** One line's rows (restricted to its nodes when both lines run) and the notes on its missing figures. */
async function collectLine(
  client: PrometheusClient,
  line: KeplerLine,
  by: Grouping,
  w: Window,
): Promise<{ line: KeplerLine; rows: EnergyRow[]; query: string; notes: string[] }> {
  const labels = groupLabels(line, by);
  const names = by === "pod" ? ["namespace", "pod"] : [by];
  const keyOf = (s: InstantSample) =>
    Object.fromEntries(names.map((n, i) => [n, s.labels[labels[i]!] || MISSING]));
  const query = energyQuery(line, by, w);
  const primary = await client.instant(query, w.toMs);
  const rows: EnergyRow[] = primary.map((s) => ({ key: keyOf(s), joules: s.value, lines: [line.flavour] }));
  const notes: string[] = [];

  if (by === "node" && rows.length > 0) {
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
  return { line, rows, query, notes };
}

/** Rows of the same key from both lines (a namespace on nodes of each) add up; a node is only ever in one. */
function mergeRows(rows: EnergyRow[]): EnergyRow[] {
  const merged = new Map<string, EnergyRow>();
  for (const r of rows) {
    const id = labelOf(r);
    const seen = merged.get(id);
    if (!seen) {
      merged.set(id, { ...r, lines: [...(r.lines ?? [])] });
      continue;
    }
    seen.joules += r.joules;
    if (r.dramJ !== undefined) seen.dramJ = (seen.dramJ ?? 0) + r.dramJ;
    if (r.platformJ !== undefined) seen.platformJ = (seen.platformJ ?? 0) + r.platformJ;
    for (const l of r.lines ?? []) if (!seen.lines!.includes(l)) seen.lines!.push(l);
  }
  return [...merged.values()];
}

/** Coverage of each planned line's nodes, side by side. */
export async function readPlanCoverage(
  client: PrometheusClient,
  plan: LinePlan,
  w: Window,
): Promise<NodeCoverage[]> {
  const per = await Promise.all(plan.parts.map((p) => readLineCoverage(client, p.line, w)));
  return per.flat().sort((a, b) => a.node.localeCompare(b.node));
}

/** A row's name for people: `node-a`, `batch`, `batch/job-1`. */
export function labelOf(row: { key: Record<string, string> }): string {
  return Object.values(row.key).join("/");
}
