/**
 * The energy of every phase run of an experiment, priced by the code that prices `powerstack energy`
 * (collectEnergy: the same PromQL, Kepler line detection, DRAM and platform handling), over each run's own
 * window [startMs, endMs] as the pods' status recorded it.
 *
 * The contract (run.ts and `experiment report` call these; keep them stable):
 *
 *   pricePhases(client, settings, runs, plan, opts) -> Promise<PricedExperiment>
 *     client    PrometheusClient
 *     settings  EnergySettings (resolveSettings): the Kepler line or detection, scrape interval
 *     runs      PhaseRun[]: every repetition of every phase, in any order
 *     plan      { namespace, phases }: the experiment's namespace and its phases (names, workload kinds)
 *     opts      { nowMs }: "now", for the explanations of missing series
 *   PricedExperiment = { runs: PricedPhaseRun[], summaries: PhaseSummary[], notes: string[], kepler, figure }
 *     plain JSON: store it in the results directory, re-render it with results-output.ts.
 *
 * Per run, three groups:
 * - `node`: the node CPU package figure of `energy --by node`, with DRAM and platform (BMC) beside it (never
 *   added: platform includes CPU and DRAM). With an `idle` phase in the plan, each node's idle power is its
 *   idle joules over its idle seconds, all idle runs together (a time-weighted mean of their watts); a run's
 *   baselineJ is that power times the run's seconds, netJ = joules - baselineJ. The platform figure gets
 *   its own idle baseline the same way.
 * - `namespace`: every namespace of `energy --by namespace` (the experiment's, and whatever else ran).
 * - `experiment`: the phase's own pods: `energy --by pod` rows in the plan's namespace whose pod name is one
 *   of the run's Job names followed by `-` (the Job controller names its pods `<job>-<suffix>`). Pods of
 *   other phases and the background load, though in the same namespace, are left out; key: the namespace.
 *
 * Repetitions: per phase, group and key, the mean, the sample standard deviation (n - 1 in the
 * denominator; 0 when there is one run, which a note says) and the count of runs that had the figure.
 * Nothing missing becomes 0: a window without Kepler series, a node without a platform series, Jobs whose
 * pods Kepler never saw, all leave the figure out and say so in `notes`, naming the runs (`cpu#2`).
 */
import { ExitCode, PowerstackError } from "../errors.js";
import type { KeplerFlavour } from "../inventory/types.js";
import type { PrometheusClient } from "../prometheus/client.js";
import { readCoverage } from "../prometheus/coverage.js";
import { collectEnergy, type EnergyReport } from "../prometheus/energy-report.js";
import { averageWatts } from "../prometheus/energy-math.js";
import { caveats } from "../prometheus/energy-output.js";
import { isDetect, KEPLER_LINES, type Grouping } from "../prometheus/kepler-metrics.js";
import type { EnergySettings } from "../prometheus/settings.js";
import { windowSeconds, type Window } from "../prometheus/window.js";
import type { GroupEnergy, Phase, PhaseRun, PhaseSummary, PricedPhaseRun } from "./types.js";

export interface PricePlan {
  namespace: string;
  phases: Array<Pick<Phase, "name" | "workload">>;
}

export interface PriceOptions {
  nowMs: number;
}

export interface PricedExperiment {
  /** Sorted by start time. */
  runs: PricedPhaseRun[];
  /** Plan order of phases, then node, namespace, experiment, then key. */
  summaries: PhaseSummary[];
  /** Missing figures, coverage (gaps, resets), the idle baseline's source: each once, with the runs it hit. */
  notes: string[];
  /** The Kepler line(s) that priced the runs: `current`, `legacy (detected)`, `current and legacy (detected)`. */
  kepler: string;
  /** What each figure is, for the header line. */
  figure: string;
}

type Settings = Pick<EnergySettings, "line" | "flavourSource" | "scrapeIntervalMs">;

const GROUP_ORDER: Record<GroupEnergy["group"], number> = { node: 0, namespace: 1, experiment: 2 };

export async function pricePhases(
  client: PrometheusClient,
  settings: Settings,
  runs: PhaseRun[],
  plan: PricePlan,
  opts: PriceOptions,
): Promise<PricedExperiment> {
  const notes = new Notes();
  const flavours = new Set<KeplerFlavour>();
  const ordered = [...runs].sort((a, b) => a.startMs - b.startMs || a.phase.localeCompare(b.phase));
  const priced: PricedPhaseRun[] = [];
  // One run at a time: each is a dozen queries already, and Prometheus shares the machine with the cluster.
  for (const run of ordered) priced.push(await priceRun(client, settings, run, plan, opts, notes, flavours));

  subtractIdle(priced, plan, notes);

  if (ordered.length > 0) {
    const span: Window = {
      fromMs: Math.min(...ordered.map((r) => r.startMs)),
      toMs: Math.max(...ordered.map((r) => r.endMs)),
    };
    // Gaps and Kepler restarts over the whole experiment, as `energy` prints them under its table.
    const coverage = await readCoverage(client, settings.line, span);
    for (const c of caveats(coverage, [])) if (c) notes.add(c);
  }

  const summaries = summarise(priced, plan);
  const single = [...new Set(summaries.filter((s) => s.count === 1).map((s) => s.phase))];
  if (single.length)
    notes.add(
      `${single.join(", ")}: one run only, so the standard deviation is shown as 0 (it needs two runs or more)`,
    );
  const lines = [...flavours].sort();
  return {
    runs: priced,
    summaries,
    notes: notes.list(ordered.length),
    kepler: keplerText(settings, lines),
    figure: figureText(lines),
  };
}

async function priceRun(
  client: PrometheusClient,
  settings: Settings,
  run: PhaseRun,
  plan: PricePlan,
  opts: PriceOptions,
  notes: Notes,
  flavours: Set<KeplerFlavour>,
): Promise<PricedPhaseRun> {
  const id = runLabel(run);
  const w: Window = { fromMs: run.startMs, toMs: run.endMs };
  const seconds = windowSeconds(w);
  if (run.endMs - run.startMs < 2 * settings.scrapeIntervalMs)
    notes.add(
      `shorter than two scrape intervals (${settings.scrapeIntervalMs / 1000} s): increase() may find one sample per series and leave figures out; lengthen the phase's duration`,
      id,
    );
  const collect = (by: Grouping) => tryCollect(client, settings, by, w, opts, notes, id);
  // The pod view only matters for runs that started Jobs (an idle phase starts none).
  const [nodes, namespaces, pods] = await Promise.all([
    collect("node"),
    collect("namespace"),
    run.jobs.length > 0 ? collect("pod") : Promise.resolve(undefined),
  ]);
  const groups: GroupEnergy[] = [];

  if (nodes) {
    for (const part of nodes.plan.parts) if (part.nodes.length > 0) flavours.add(part.line.flavour);
    const anyPlatform = nodes.rows.some((r) => r.platformJ !== undefined);
    for (const r of nodes.rows) {
      const node = r.key.node!;
      const g: GroupEnergy = {
        group: "node",
        key: node,
        joules: r.joules,
        watts: averageWatts(r.joules, seconds),
      };
      if (r.dramJ !== undefined) g.dramJ = r.dramJ;
      if (r.platformJ !== undefined) {
        g.platformJ = r.platformJ;
        g.platformW = averageWatts(r.platformJ, seconds);
      } else if (anyPlatform) {
        // With no platform series on any node, collectEnergy's own note (enable the BMC) says it.
        notes.add(
          `platform: ${node} has no platform (BMC) power series; its platform figures are left empty`,
          id,
        );
      }
      groups.push(g);
    }
    const seen = new Set(nodes.rows.map((r) => r.key.node));
    for (const n of run.nodes)
      if (!seen.has(n))
        notes.add(
          `${n}: the phase ran there, but Prometheus has no Kepler node series for it in the window`,
          id,
        );
  }

  if (namespaces)
    for (const r of namespaces.rows)
      groups.push({
        group: "namespace",
        key: r.key.namespace!,
        joules: r.joules,
        watts: averageWatts(r.joules, seconds),
      });

  if (pods) {
    const ours = pods.rows.filter(
      (r) => r.key.namespace === plan.namespace && run.jobs.some((j) => r.key.pod!.startsWith(`${j}-`)),
    );
    if (ours.length === 0)
      notes.add(
        `no Kepler pod series for the Jobs ${run.jobs.join(", ")} in namespace ${plan.namespace} (their pods ran shorter than Kepler's interval, or Kepler exports no pod figures); the experiment group is left out`,
        id,
      );
    else {
      const joules = ours.reduce((a, r) => a + r.joules, 0);
      groups.push({
        group: "experiment",
        key: plan.namespace,
        joules,
        watts: averageWatts(joules, seconds),
        pods: ours.map((r) => `${r.key.namespace}/${r.key.pod}`).sort(),
      });
    }
  }

  groups.sort((a, b) => GROUP_ORDER[a.group] - GROUP_ORDER[b.group] || a.key.localeCompare(b.key));
  return { ...run, groups };
}

/**
 * collectEnergy, with "no series at all in this window" turned into a note for this run (the other runs
 * are still worth pricing). Everything else (Prometheus unreachable, a query refused) still fails.
 */
async function tryCollect(
  client: PrometheusClient,
  settings: Settings,
  by: Grouping,
  w: Window,
  opts: PriceOptions,
  notes: Notes,
  id: string,
): Promise<EnergyReport | undefined> {
  try {
    const report = await collectEnergy(client, settings.line, by, w, {
      nowMs: opts.nowMs,
      flavourSource: settings.flavourSource,
      coverage: false, // read once for the whole experiment
    });
    for (const n of report.notes) notes.add(n, id);
    return report;
  } catch (err) {
    // explainMissing's answers are the only failures that start with "no ": a missing series, explained.
    if (err instanceof PowerstackError && err.exitCode === ExitCode.failed && err.message.startsWith("no ")) {
      notes.add(`${by} figures missing: ${err.message}`, id);
      return undefined;
    }
    throw err;
  }
}

/** Each node's idle power (CPU and platform), from the runs of the plan's idle phase(s). */
function subtractIdle(runs: PricedPhaseRun[], plan: PricePlan, notes: Notes): void {
  const idlePhases = new Set(plan.phases.filter((p) => p.workload.kind === "idle").map((p) => p.name));
  if (idlePhases.size === 0) {
    if (runs.length)
      notes.add(
        "no idle phase in the plan: no baseline is subtracted (add a phase with `workload: idle` to get each node's idle power)",
      );
    return;
  }
  const idleRuns = runs.filter((r) => idlePhases.has(r.phase));
  const cpu = new Map<string, { j: number; s: number }>();
  const platform = new Map<string, { j: number; s: number }>();
  const add = (m: Map<string, { j: number; s: number }>, key: string, j: number, s: number) => {
    const sum = m.get(key) ?? { j: 0, s: 0 };
    m.set(key, { j: sum.j + j, s: sum.s + s });
  };
  for (const r of idleRuns)
    for (const g of r.groups) {
      if (g.group !== "node") continue;
      const s = runSeconds(r);
      add(cpu, g.key, g.joules, s);
      if (g.platformJ !== undefined) add(platform, g.key, g.platformJ, s);
    }
  for (const r of runs) {
    const s = runSeconds(r);
    for (const g of r.groups) {
      if (g.group !== "node") continue;
      const idle = cpu.get(g.key);
      if (!idle || idle.s === 0) {
        notes.add(
          `${g.key}: no figure in any run of the idle phase (${[...idlePhases].join(", ")}), so no baseline is subtracted for it`,
          runLabel(r),
        );
        continue;
      }
      g.baselineJ = (idle.j / idle.s) * s;
      g.netJ = g.joules - g.baselineJ;
      const idleP = platform.get(g.key);
      if (g.platformJ !== undefined && idleP && idleP.s > 0) {
        g.platformBaselineJ = (idleP.j / idleP.s) * s;
        g.platformNetJ = g.platformJ - g.platformBaselineJ;
      }
    }
  }
}

/** Mean and sample standard deviation (n - 1); the deviation of a single value is 0 (see the note). */
export function meanAndStdev(values: number[]): { mean: number; stdev: number; count: number } {
  const count = values.length;
  if (count === 0) return { mean: NaN, stdev: NaN, count };
  const mean = values.reduce((a, b) => a + b, 0) / count;
  if (count === 1) return { mean, stdev: 0, count };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, stdev: Math.sqrt(ss / (count - 1)), count };
}

function summarise(runs: PricedPhaseRun[], plan: PricePlan): PhaseSummary[] {
  const phaseOrder = new Map(plan.phases.map((p, i) => [p.name, i]));
  const cells = new Map<string, { phase: string; g: GroupEnergy; seconds: number }[]>();
  for (const r of runs)
    for (const g of r.groups) {
      const id = JSON.stringify([r.phase, g.group, g.key]);
      cells.set(id, [...(cells.get(id) ?? []), { phase: r.phase, g, seconds: runSeconds(r) }]);
    }
  const out: PhaseSummary[] = [];
  for (const list of cells.values()) {
    const first = list[0]!;
    const stat = (f: (g: GroupEnergy) => number | undefined) =>
      meanAndStdev(list.map((x) => f(x.g)).filter((v): v is number => v !== undefined));
    const j = stat((g) => g.joules);
    const w = stat((g) => g.watts);
    const s: PhaseSummary = {
      phase: first.phase,
      group: first.g.group,
      key: first.g.key,
      count: j.count,
      meanJ: j.mean,
      stdevJ: j.stdev,
      meanW: w.mean,
      stdevW: w.stdev,
      meanSeconds: meanAndStdev(list.map((x) => x.seconds)).mean,
    };
    const net = stat((g) => g.netJ);
    if (net.count > 0) {
      s.meanNetJ = net.mean;
      s.stdevNetJ = net.stdev;
    }
    const pj = stat((g) => g.platformJ);
    if (pj.count > 0) {
      const pw = stat((g) => g.platformW);
      s.platformCount = pj.count;
      s.meanPlatformJ = pj.mean;
      s.stdevPlatformJ = pj.stdev;
      s.meanPlatformW = pw.mean;
      s.stdevPlatformW = pw.stdev;
      const pn = stat((g) => g.platformNetJ);
      if (pn.count > 0) s.meanPlatformNetJ = pn.mean;
    }
    const dram = stat((g) => g.dramJ);
    if (dram.count > 0) s.meanDramJ = dram.mean;
    out.push(s);
  }
  const order = (p: string) => phaseOrder.get(p) ?? Number.MAX_SAFE_INTEGER;
  return out.sort(
    (a, b) =>
      order(a.phase) - order(b.phase) ||
      a.phase.localeCompare(b.phase) ||
      GROUP_ORDER[a.group] - GROUP_ORDER[b.group] ||
      a.key.localeCompare(b.key),
  );
}

export function runLabel(r: Pick<PhaseRun, "phase" | "repetition">): string {
  return `${r.phase}#${r.repetition}`;
}

export function runSeconds(r: Pick<PhaseRun, "startMs" | "endMs">): number {
  return (r.endMs - r.startMs) / 1000;
}

function keplerText(settings: Settings, lines: KeplerFlavour[]): string {
  const named = lines.length
    ? lines.join(" and ")
    : isDetect(settings.line)
      ? "none found"
      : settings.line.flavour;
  return isDetect(settings.line) ? `${named} (detected)` : named;
}

function figureText(lines: KeplerFlavour[]): string {
  const each = (f: KeplerFlavour) =>
    `node: ${KEPLER_LINES[f].nodeCpu.describes}; namespace and experiment pods: ${KEPLER_LINES[f].workload.describes}`;
  const figures =
    lines.length <= 1 ? each(lines[0] ?? "current") : lines.map((f) => `${f}: ${each(f)}`).join("; ");
  return `${figures}; DRAM and platform (BMC) shown beside the node figure, never added`;
}

/** Notes said once each, with the runs they concern: `... (cpu#1, cpu#2)`, or `(all 9 runs)`. */
class Notes {
  private readonly byText = new Map<string, string[]>();

  add(text: string, run?: string): void {
    const runs = this.byText.get(text) ?? [];
    if (run !== undefined && !runs.includes(run)) runs.push(run);
    this.byText.set(text, runs);
  }

  list(totalRuns: number): string[] {
    return [...this.byText].map(([text, runs]) => {
      if (runs.length === 0) return text;
      const which = runs.length === totalRuns && totalRuns > 1 ? `all ${totalRuns} runs` : runs.join(", ");
      return `${text} (${which})`;
    });
  }
}
