/**
 * One pipeline step's energy, as written to a report file: the command's window, the energy per node and
 * per namespace above the idle baseline (the same windows and arithmetic as `powerstack measure`:
 * cost.ts's `measureWindows`/`costRows`, energy-math.ts' pricing), the BMC's platform figure beside
 * Kepler's, the idle noise, and whether the step was long enough to measure at all.
 *
 * The record is plain JSON with exact numbers (nothing rounded); every view (table, OpenMetrics, JUnit,
 * Markdown, the gate) is computed from it, so a report can be re-rendered or gated long after the run.
 */
import type { KeplerFlavour } from "../inventory/types.js";
import type { PrometheusClient } from "../prometheus/client.js";
import type { Co2BySource } from "../prometheus/co2-sources.js";
import {
  co2Figures,
  costRows,
  measureWindows,
  type CostRow,
  type MeasureWindows,
} from "../prometheus/cost.js";
import { readCoverage } from "../prometheus/coverage.js";
import { collectEnergy, type EnergyRow } from "../prometheus/energy-report.js";
import { averageWatts } from "../prometheus/energy-math.js";
import { caveats } from "../prometheus/energy-output.js";
import type { EnergySettings } from "../prometheus/settings.js";
import { isoTime, windowSeconds, type Window } from "../prometheus/window.js";
import { idleNoise, type IdleNoise } from "./noise.js";

/**
 * How often Kepler reads the counters, per line, when --kepler-interval does not say: current (0.10+)
 * `--monitor.interval` default 5s (docs/user/configuration.md of sustainable-computing-io/kepler);
 * legacy (0.7.x-0.9.x) `SAMPLE_PERIOD_SEC` default 3 (pkg/config). A command shorter than that is
 * over before Kepler has read the energy it used (and processes living less than one interval are not
 * attributed at all), so its figure would be noise presented as a measurement.
 */
export const KEPLER_SAMPLING_MS: Record<KeplerFlavour, number> = { current: 5_000, legacy: 3_000 };

/** The line's default; with the line detected per node (either may price a node), the longer one. */
export function keplerSamplingMs(flavour: string): number {
  return KEPLER_SAMPLING_MS[flavour as KeplerFlavour] ?? Math.max(...Object.values(KEPLER_SAMPLING_MS));
}

/** Bumped when a field changes meaning; a reader refuses versions it does not know. */
export const STEP_RECORD_VERSION = 1;

/** Energy of one group over the step: during the run, over the idle baseline, and the difference. */
export interface StepFigure {
  runJ: number;
  baselineJ: number;
  /** runJ - baselineJ: the step's share; may be negative when the cluster was busier before it. */
  costJ: number;
  /** costJ over the run window's length. */
  costW: number;
  /** gCO2e at the grid intensity, as `powerstack energy` prices it. */
  co2G: number;
  /** gCO2 had the energy come from coal, petroleum or natural gas (cost.ts' co2Figures). */
  co2BySourceG: Co2BySource;
}

export interface PlatformFigure {
  runJ: number;
  baselineJ: number;
  costJ: number;
  costW: number;
}

export interface NodeStep extends StepFigure {
  node: string;
  /** The BMC's whole-server figure (Redfish/ACPI via Kepler), beside Kepler's CPU figure; null without one. */
  platform: PlatformFigure | null;
}

export interface NamespaceStep extends StepFigure {
  namespace: string;
}

export interface WindowJson {
  from: string;
  to: string;
  seconds: number;
}

export interface StepRecord {
  powerstackStep: typeof STEP_RECORD_VERSION;
  step: string;
  command: string[];
  exitCode: number;
  /** The command's own start and end. */
  commandWindow: WindowJson;
  /**
   * Priced window (the command's, lengthened to two scrapes when shorter) and its idle baseline: as long,
   * just before it, or before the report's earlier steps when they ran there (cost.ts' measureWindows).
   */
  run: WindowJson;
  baseline: WindowJson;
  kepler: string;
  /** Prometheus' URL without credentials. */
  prometheus: string;
  /** What the priced figure is (node CPU package, per Kepler line). */
  figure: string;
  keplerIntervalS: number;
  scrapeIntervalS: number;
  /** The command ran for less than Kepler's sampling interval: its figures are not a measurement. */
  tooShort: boolean;
  gridIntensityGPerKwh: number;
  gridSource: string;
  /** Sum over nodes (the cluster's CPU energy above idle); platform null when no node has a BMC figure. */
  total: StepFigure & { platform: PlatformFigure | null };
  noise: IdleNoise | null;
  nodes: NodeStep[];
  namespaces: NamespaceStep[];
  /** Coverage problems and missing figures, as `powerstack measure` prints them under its table. */
  caveats: string[];
}

export interface StepInput {
  name: string;
  command: string[];
  exitCode: number;
  /** When the command started and ended. */
  window: Window;
  /** --kepler-interval; default: the Kepler line's (the longest of the lines that priced the window). */
  keplerIntervalMs?: number;
  nowMs: number;
  /** The earlier steps of the report: their runs are not idle, so the baseline is taken before them. */
  earlier?: readonly StepRecord[];
}

export function windowJson(w: Window): WindowJson {
  return { from: isoTime(w.fromMs), to: isoTime(w.toMs), seconds: windowSeconds(w) };
}

/** Query Prometheus for the step's windows and build its record. The run's last scrape must have landed. */
export async function measureStep(
  client: PrometheusClient,
  s: EnergySettings,
  input: StepInput,
): Promise<StepRecord> {
  const busy = (input.earlier ?? []).map((e) => ({
    fromMs: Date.parse(e.run.from),
    toMs: Date.parse(e.run.to),
  }));
  const windows = measureWindows(input.window, s.scrapeIntervalMs, busy);
  const opts = { nowMs: input.nowMs, flavourSource: s.flavourSource, coverage: false };
  const [nodeRun, nodeBase, nsRun, nsBase, coverage, noise] = await Promise.all([
    collectEnergy(client, s.line, "node", windows.run, opts),
    collectEnergy(client, s.line, "node", windows.baseline, opts),
    collectEnergy(client, s.line, "namespace", windows.run, opts),
    collectEnergy(client, s.line, "namespace", windows.baseline, opts),
    readCoverage(client, s.line, { fromMs: windows.baseline.fromMs, toMs: windows.run.toMs }),
    idleNoise(client, s.line, windows.baseline, windowSeconds(windows.run), s.scrapeIntervalMs),
  ]);
  const seconds = windowSeconds(windows.run);
  const priced = (r: CostRow): StepFigure => ({
    runJ: r.runJ,
    baselineJ: r.baselineJ,
    costJ: r.costJ,
    costW: averageWatts(r.costJ, seconds),
    ...co2Figures(r.costJ, s.gridIntensityGPerKwh),
  });
  const nodes: NodeStep[] = costRows(nodeRun.rows, nodeBase.rows).map((r) => ({
    node: r.key.node!,
    ...priced(r),
    platform: platformOf(r.key.node!, nodeRun.rows, nodeBase.rows, seconds),
  }));
  const namespaces: NamespaceStep[] = costRows(nsRun.rows, nsBase.rows).map((r) => ({
    namespace: r.key.namespace!,
    ...priced(r),
  }));
  const sum = (f: (n: NodeStep) => number) => nodes.reduce((a, n) => a + f(n), 0);
  const withPlatform = nodes.map((n) => n.platform).filter((p): p is PlatformFigure => p !== null);
  const platformSum = (f: (p: PlatformFigure) => number) => withPlatform.reduce((a, p) => a + f(p), 0);
  const total = {
    ...priced({
      key: {},
      runJ: sum((n) => n.runJ),
      baselineJ: sum((n) => n.baselineJ),
      costJ: sum((n) => n.costJ),
    }),
    platform: withPlatform.length
      ? {
          runJ: platformSum((p) => p.runJ),
          baselineJ: platformSum((p) => p.baselineJ),
          costJ: platformSum((p) => p.costJ),
          costW: averageWatts(
            platformSum((p) => p.costJ),
            seconds,
          ),
        }
      : null,
  };
  // The lines that actually priced the nodes: the named one, or what detection found in this window.
  const flavours = [...new Set(nodeRun.plan.parts.map((p) => p.line.flavour as string))];
  if (flavours.length === 0) flavours.push(s.line.flavour);
  const keplerIntervalMs = input.keplerIntervalMs ?? Math.max(...flavours.map(keplerSamplingMs));
  const notes = [...new Set([...nodeRun.notes, ...nodeBase.notes, ...nsRun.notes, ...nsBase.notes])];
  return {
    powerstackStep: STEP_RECORD_VERSION,
    step: input.name,
    command: input.command,
    exitCode: input.exitCode,
    ...windowsJson(windows),
    kepler: flavours.join("+"),
    prometheus: withoutCredentials(client.url),
    figure:
      [...new Set(nodeRun.plan.parts.map((p) => p.line.nodeCpu.describes))].join(" / ") ||
      s.line.nodeCpu.describes,
    keplerIntervalS: keplerIntervalMs / 1000,
    scrapeIntervalS: s.scrapeIntervalMs / 1000,
    tooShort: windowSeconds(input.window) * 1000 < keplerIntervalMs,
    gridIntensityGPerKwh: s.gridIntensityGPerKwh,
    gridSource: s.gridSource,
    total,
    noise,
    nodes,
    namespaces,
    caveats: caveats(coverage, notes).filter((l) => l !== ""),
  };
}

function windowsJson(w: MeasureWindows): Pick<StepRecord, "commandWindow" | "run" | "baseline"> {
  return { commandWindow: windowJson(w.command), run: windowJson(w.run), baseline: windowJson(w.baseline) };
}

function platformOf(
  node: string,
  run: EnergyRow[],
  base: EnergyRow[],
  seconds: number,
): PlatformFigure | null {
  const r = run.find((x) => x.key.node === node)?.platformJ;
  const b = base.find((x) => x.key.node === node)?.platformJ;
  if (r === undefined && b === undefined) return null;
  const costJ = (r ?? 0) - (b ?? 0);
  return { runJ: r ?? 0, baselineJ: b ?? 0, costJ, costW: averageWatts(costJ, seconds) };
}

/** A report file is an artifact anyone in the pipeline can read: never store `user:password@`. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/+$/, "");
  } catch {
    return url;
  }
}

/**
 * Steps already in the report whose run overlaps this step's idle baseline or noise window. measureStep
 * takes the baseline before the report's earlier steps, so this names only what it could not avoid: a step
 * recorded in another report file, or one appended meanwhile by a parallel job.
 */
export function overlapCaveats(r: StepRecord, earlier: readonly StepRecord[]): string[] {
  const overlaps = (a: { from: string; to: string }, b: { from: string; to: string }) =>
    Date.parse(a.from) < Date.parse(b.to) && Date.parse(b.from) < Date.parse(a.to);
  const out: string[] = [];
  for (const e of earlier) {
    if (overlaps(e.run, r.baseline))
      out.push(
        `overlap: the idle baseline (${r.baseline.from} to ${r.baseline.to}) overlaps step "${e.step}" (${e.run.from} to ${e.run.to}): its energy counts as idle here, so this step's cost is understated; leave ${r.run.seconds} s idle before the step, or record both in one report`,
      );
    else if (r.noise && overlaps(e.run, r.noise))
      out.push(
        `overlap: the idle noise window (${r.noise.from} to ${r.noise.to}) overlaps step "${e.step}": the noise is overstated`,
      );
  }
  return out;
}

/** A step's length that the gate and the views print beside "too short". */
export function tooShortReason(r: StepRecord): string {
  return `too short to measure: ran ${r.commandWindow.seconds} s, less than Kepler's ${r.keplerIntervalS} s sampling interval`;
}
