/**
 * What a command cost: the energy of each group while it ran, minus the same group's energy over an
 * equal window just before (the idle baseline). Equal lengths matter: then everything the cluster burns
 * regardless of the command cancels out, and the difference is the command's share.
 *
 * A group seen in only one window (a namespace the command created) counts 0 J in the other.
 */
import type { KeplerFlavour } from "../inventory/types.js";
import { co2GramsBySource, type Co2BySource } from "./co2-sources.js";
import { labelOf, type EnergyRow } from "./energy-report.js";
import { co2Grams } from "./energy-math.js";
import type { Window } from "./window.js";

export interface CostRow {
  key: Record<string, string>;
  runJ: number;
  baselineJ: number;
  /** runJ - baselineJ: may be negative when the cluster happened to be busier before the command. */
  costJ: number;
  /** The Kepler line(s) the row's figures came from, in either window (see EnergyRow.lines). */
  lines?: KeplerFlavour[];
}

export interface MeasureWindows {
  /** From the command's start to its end, lengthened (see `measureWindows`) when shorter than 2 scrapes. */
  run: Window;
  /** The same length, ending where `run` starts (or, past busy windows, before the earliest of them). */
  baseline: Window;
  /** The command's own start and end. */
  command: Window;
}

/**
 * increase() needs two samples inside its range; a command shorter than two scrape intervals gets a run
 * window of two intervals from its start. The idle tail this adds is matched by an equally long baseline,
 * so it cancels in the difference.
 */
export function measureWindows(
  command: Window,
  scrapeIntervalMs: number,
  /**
   * Windows known not to be idle (the earlier steps of a pipeline's report): the baseline moves back past
   * each one it would overlap, so a step that follows another is not priced against that step's work.
   */
  busy: readonly Window[] = [],
): MeasureWindows {
  const length = Math.max(command.toMs - command.fromMs, 2 * scrapeIntervalMs);
  const run = { fromMs: command.fromMs, toMs: command.fromMs + length };
  let end = run.fromMs;
  for (;;) {
    const hit = busy.filter((b) => b.fromMs < end && b.toMs > end - length);
    if (hit.length === 0) break;
    end = Math.min(...hit.map((b) => b.fromMs)); // strictly earlier each time: the loop ends
  }
  return { run, baseline: { fromMs: end - length, toMs: end }, command };
}

export function costRows(run: EnergyRow[], baseline: EnergyRow[]): CostRow[] {
  const rows = new Map<string, CostRow>();
  const at = (r: EnergyRow) => {
    const id = labelOf(r);
    const row = rows.get(id) ?? { key: r.key, runJ: 0, baselineJ: 0, costJ: 0 };
    rows.set(id, row);
    for (const l of r.lines ?? []) if (!(row.lines ??= []).includes(l)) row.lines.push(l);
    return row;
  };
  for (const r of run) at(r).runJ += r.joules;
  for (const r of baseline) at(r).baselineJ += r.joules;
  const out = [...rows.values()].map((r) => ({ ...r, costJ: r.runJ - r.baselineJ }));
  return out.sort((a, b) => b.costJ - a.costJ || labelOf(a).localeCompare(labelOf(b)));
}

/** The CO2 of an amount of energy (a cost, a total): at the grid intensity, and per generating fuel. */
export interface Co2Figures {
  /** gCO2e at the configured grid intensity. */
  co2G: number;
  /** gCO2 had it been generated from coal, petroleum or natural gas (co2-sources.ts: EIA factors). */
  co2BySourceG: Co2BySource;
}

export function co2Figures(joules: number, gridIntensityGPerKwh: number): Co2Figures {
  return { co2G: co2Grams(joules, gridIntensityGPerKwh), co2BySourceG: co2GramsBySource(joules) };
}
