/**
 * The rows every view of a report shows: one per step and a total. The total adds the steps that were
 * measured; a step too short to measure adds its duration only (its joules are not a measurement).
 */
import { sumDefined } from "../../prometheus/energy-math.js";
import type { Column } from "../../ui/table.js";
import type { StepRecord } from "../step-record.js";

export interface ReportRow {
  step: string;
  exitCode?: number;
  seconds: number;
  tooShort: boolean;
  costJ?: number;
  costW?: number;
  platformJ?: number;
  co2G?: number;
  noiseJ?: number;
}

export function stepRow(r: StepRecord): ReportRow {
  if (r.tooShort)
    return { step: r.step, exitCode: r.exitCode, seconds: r.commandWindow.seconds, tooShort: true };
  return {
    step: r.step,
    exitCode: r.exitCode,
    seconds: r.commandWindow.seconds,
    tooShort: false,
    costJ: r.total.costJ,
    costW: r.total.costW,
    platformJ: r.total.platform?.costJ,
    co2G: r.total.co2G,
    noiseJ: r.noise?.J,
  };
}

export function totalRow(steps: readonly StepRecord[]): ReportRow {
  const rows = steps.map(stepRow);
  const measured = rows.filter((r) => !r.tooShort);
  return {
    step: "total",
    seconds: rows.reduce((a, r) => a + r.seconds, 0),
    tooShort: false,
    costJ: sumDefined(measured.map((r) => r.costJ)) ?? 0,
    platformJ: sumDefined(measured.map((r) => r.platformJ)),
    co2G: sumDefined(measured.map((r) => r.co2G)) ?? 0,
  };
}

const TOO_SHORT = "too short";

/** Shared by the text table and the Markdown table: one set of headers, units and precisions. */
export const REPORT_COLUMNS: Array<Column<ReportRow>> = [
  { header: "step", get: (r) => r.step },
  { header: "exit", get: (r) => r.exitCode, decimals: 0 },
  { header: "duration", unit: "s", get: (r) => r.seconds, decimals: 1 },
  { header: "energy above idle", unit: "J", get: (r) => (r.tooShort ? TOO_SHORT : r.costJ), decimals: 1 },
  { header: "extra power", unit: "W", get: (r) => (r.tooShort ? TOO_SHORT : r.costW), decimals: 2 },
  {
    header: "platform above idle",
    unit: "J",
    get: (r) => (r.tooShort ? TOO_SHORT : r.platformJ),
    decimals: 1,
  },
  { header: "CO2e", unit: "g", get: (r) => (r.tooShort ? TOO_SHORT : r.co2G), decimals: 3 },
  { header: "idle noise", unit: "±J", get: (r) => (r.tooShort ? TOO_SHORT : r.noiseJ), decimals: 1 },
];
