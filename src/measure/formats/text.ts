/**
 * The views for people: a report's table of steps with their total (`measure report`), and one step's
 * detail per node and per namespace (printed by `measure --step` when it has appended the step).
 */
import { renderTable, type Column } from "../../ui/table.js";
import type { GateLine } from "../gate.js";
import type { NamespaceStep, NodeStep, StepRecord } from "../step-record.js";
import { tooShortReason } from "../step-record.js";
import { formatS } from "../units.js";
import { REPORT_COLUMNS, stepRow, totalRow } from "./rows.js";

export interface ReportView {
  steps: StepRecord[];
  /** Where the steps came from, for the heading. */
  source: string;
  /** Lines about the report itself (steps recorded twice). */
  notes: string[];
  gate: GateLine[];
}

export function reportText(v: ReportView): string {
  if (v.steps.length === 0) return `no steps in ${v.source}`;
  const first = v.steps[0]!;
  const lines = [
    `energy of ${v.steps.length} step(s) in ${v.source}: ${first.figure} above the idle baseline (an equal window just before each step); Kepler ${first.kepler} via ${first.prometheus}`,
    `CO2e at ${first.gridIntensityGPerKwh} g/kWh (${first.gridSource})`,
    "",
    renderTable(REPORT_COLUMNS, v.steps.map(stepRow), { totals: totalRow(v.steps) }),
  ];
  const under = [
    ...v.steps
      .filter((s) => s.tooShort)
      .map((s) => `note: step "${s.step}" is ${tooShortReason(s)} (not in the total)`),
    ...v.notes.map((n) => `note: ${n}`),
    ...stepCaveats(v.steps),
  ];
  if (under.length) lines.push("", ...under);
  if (v.gate.length) lines.push("", ...v.gate.map((g) => g.text));
  return lines.join("\n");
}

/** Each caveat once, with the steps it applies to: a missing DRAM series is news once, not per step. */
function stepCaveats(steps: readonly StepRecord[]): string[] {
  const seen = new Map<string, string[]>();
  for (const s of steps)
    for (const c of s.caveats) if (!c.startsWith("coverage:")) seen.set(c, [...(seen.get(c) ?? []), s.step]);
  return [...seen].map(([c, names]) => `${names.join(", ")}: ${c}`);
}

const FIGURES = <
  R extends { runJ: number; baselineJ: number; costJ: number; costW: number; co2G: number },
>(): Array<Column<R>> => [
  { header: "during run", unit: "J", get: (r) => r.runJ, decimals: 1 },
  { header: "idle baseline", unit: "J", get: (r) => r.baselineJ, decimals: 1 },
  { header: "above idle", unit: "J", get: (r) => r.costJ, decimals: 1 },
  { header: "extra power", unit: "W", get: (r) => r.costW, decimals: 2 },
  { header: "CO2e", unit: "g", get: (r) => r.co2G, decimals: 3 },
];

export function stepText(r: StepRecord, reportFile: string): string {
  const head = [
    `step "${r.step}": \`${r.command.join(" ")}\` exited ${r.exitCode} after ${formatS(r.commandWindow.seconds)} s; appended to ${reportFile}`,
    `run ${r.run.from} to ${r.run.to}, idle baseline ${r.baseline.from} to ${r.baseline.to}; ${r.figure}; CO2e at ${r.gridIntensityGPerKwh} g/kWh`,
  ];
  if (r.tooShort) head.push(`${tooShortReason(r)}: its energy is not reported`);
  const nodeColumns: Array<Column<NodeStep>> = [
    { header: "node", get: (n) => n.node },
    ...FIGURES<NodeStep>(),
    { header: "platform above idle", unit: "J", get: (n) => n.platform?.costJ, decimals: 1 },
    { header: "platform extra", unit: "W", get: (n) => n.platform?.costW, decimals: 2 },
  ];
  const nsColumns: Array<Column<NamespaceStep>> = [
    { header: "namespace", get: (n) => n.namespace },
    ...FIGURES<NamespaceStep>(),
  ];
  const body = r.tooShort
    ? []
    : [
        "",
        renderTable(nodeColumns, r.nodes, {
          totals: { node: "total", ...r.total, platform: r.total.platform },
        }),
        "",
        renderTable(nsColumns, r.namespaces),
      ];
  const noise = r.noise
    ? [
        `idle noise: ±${r.noise.J.toFixed(1)} J over the run (idle power ${r.noise.meanW.toFixed(2)} W ± ${r.noise.W.toFixed(2)} W)`,
      ]
    : [];
  const caveats = r.caveats.length ? ["", ...r.caveats] : [];
  return [...head, ...body, ...(noise.length ? ["", ...noise] : []), ...caveats].join("\n");
}
