/**
 * The regression gate: each step's energy above idle against an earlier report (`--baseline FILE
 * --max-increase 10%`) and/or a fixed budget (`--budget 50kJ`). Limits apply to every step, or to one
 * step as `NAME=LIMIT` (repeatable; a named limit wins over the general one).
 *
 * Every verdict line names both figures and the idle noise, so whoever reads a red pipeline can tell
 * "the change costs 20% more" from "the cluster was restless". A step too short to measure is never
 * compared (its joules are not a measurement) and never fails the gate: it is listed as such.
 */
import { InputError } from "../errors.js";
import type { StepRecord } from "./step-record.js";
import { tooShortReason } from "./step-record.js";
import { formatJ } from "./units.js";

export interface Limits<T> {
  all?: T;
  byStep: Map<string, T>;
}

export interface GateOptions {
  baseline?: { file: string; steps: StepRecord[] };
  /** Fraction: 0.1 for 10%. */
  maxIncrease: Limits<number>;
  /** Joules. */
  budget: Limits<number>;
}

export type Verdict = "over" | "ok" | "skipped";

export interface GateLine {
  step: string;
  verdict: Verdict;
  text: string;
}

export function hasGate(o: GateOptions): boolean {
  const any = (l: Limits<number>) => l.all !== undefined || l.byStep.size > 0;
  return any(o.maxIncrease) || any(o.budget);
}

export function limitFor<T>(l: Limits<T>, step: string): T | undefined {
  return l.byStep.get(step) ?? l.all;
}

export function gate(steps: readonly StepRecord[], o: GateOptions): GateLine[] {
  const lines: GateLine[] = [];
  const base = new Map(o.baseline?.steps.map((s) => [s.step, s]));
  for (const s of steps) {
    const budget = limitFor(o.budget, s.step);
    const increase = limitFor(o.maxIncrease, s.step);
    if (budget === undefined && increase === undefined) continue;
    const push = (verdict: Verdict, text: string) => lines.push({ step: s.step, verdict, text });
    if (s.tooShort) {
      push("skipped", `skipped: step "${s.step}" is ${tooShortReason(s)}; not compared`);
      continue;
    }
    const now = s.total.costJ;
    const noiseNow = noiseText(s);
    if (budget !== undefined) {
      if (now > budget)
        push(
          "over",
          `over budget: step "${s.step}" used ${formatJ(now)} above idle, more than its budget of ${formatJ(budget)} (by ${formatJ(now - budget)}); idle noise ${noiseNow}`,
        );
      else
        push(
          "ok",
          `ok: step "${s.step}" used ${formatJ(now)} above idle, within its budget of ${formatJ(budget)}`,
        );
    }
    if (increase === undefined) continue;
    const was = base.get(s.step);
    if (!was) {
      push(
        "skipped",
        `skipped: step "${s.step}" has no baseline in ${o.baseline?.file ?? "(none)"}; not compared`,
      );
      continue;
    }
    if (was.tooShort) {
      push("skipped", `skipped: step "${s.step}" in the baseline was ${tooShortReason(was)}; not compared`);
      continue;
    }
    const then = was.total.costJ;
    if (!(then > 0)) {
      push(
        "skipped",
        `skipped: step "${s.step}" cost ${formatJ(then)} above idle in the baseline: a percentage of that means nothing; give it a --budget instead`,
      );
      continue;
    }
    const change = (now - then) / then;
    const figures = `used ${formatJ(now)} above idle, ${percent(change)} on the baseline's ${formatJ(then)}`;
    const noise = `idle noise ${noiseNow} now, ${noiseText(was)} in the baseline`;
    if (change > increase) {
      // Two independent wanders add in quadrature.
      const chance =
        s.noise && now - then <= Math.hypot(s.noise.J, was.noise?.J ?? 0)
          ? " (within the idle noise: may be chance)"
          : "";
      push(
        "over",
        `over baseline: step "${s.step}" ${figures}, limit ${percent(increase)}; ${noise}${chance}`,
      );
    } else push("ok", `ok: step "${s.step}" ${figures}, limit ${percent(increase)}`);
  }
  return lines;
}

function noiseText(s: StepRecord): string {
  return s.noise
    ? `±${formatJ(s.noise.J)} (idle power spread ±${s.noise.W.toFixed(2)} W over ${s.noise.slices} slices)`
    : "unknown (an idle baseline under four scrape intervals, or without samples)";
}

function percent(f: number): string {
  const p = f * 100;
  return `${p >= 0 ? "+" : ""}${Number(p.toFixed(1))}%`;
}

// ---- flags ----------------------------------------------------------------------------------------

/** `10%` and `build=10%` (repeatable) into limits. */
export function parseLimits<T>(
  flag: string,
  values: readonly string[],
  parse: (text: string) => T,
): Limits<T> {
  const out: Limits<T> = { byStep: new Map() };
  for (const v of values) {
    const eq = v.lastIndexOf("=");
    if (eq === -1) {
      if (out.all !== undefined)
        throw new InputError(
          `--${flag} given twice for every step (${v})`,
          `give one --${flag} for every step and NAME=VALUE for single steps`,
        );
      out.all = parse(v);
    } else {
      const name = v.slice(0, eq);
      if (name === "")
        throw new InputError(`--${flag} "${v}" names no step`, `e.g. --${flag} build=${v.slice(eq + 1)}`);
      out.byStep.set(name, parse(v.slice(eq + 1)));
    }
  }
  return out;
}

export function parsePercent(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (!m)
    throw new InputError(
      `--max-increase "${text}" is not a percentage`,
      "e.g. --max-increase 10% (or build=10% for one step)",
    );
  return Number(m[1]) / 100;
}

const ENERGY_UNITS: Record<string, number> = { J: 1, kJ: 1e3, MJ: 1e6, GJ: 1e9, Wh: 3600, kWh: 3.6e6 };

export function parseEnergy(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(J|kJ|MJ|GJ|Wh|kWh)\s*$/.exec(text);
  if (!m)
    throw new InputError(
      `--budget "${text}" is not an energy`,
      `give a number with a unit (${Object.keys(ENERGY_UNITS).join(", ")}), e.g. --budget 50kJ (or build=50kJ for one step)`,
    );
  return Number(m[1]) * ENERGY_UNITS[m[2]!]!;
}
