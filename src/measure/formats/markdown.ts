/**
 * Markdown for a job summary (GitHub Actions' $GITHUB_STEP_SUMMARY, a GitLab MR note): the report's table
 * with the same columns as the terminal's, the total in bold, and the gate's verdicts as a list.
 */
import { columnTitle } from "../../ui/table.js";
import type { ReportView } from "./text.js";
import { tooShortReason } from "../step-record.js";
import { REPORT_COLUMNS, stepRow, totalRow, type ReportRow } from "./rows.js";

export function reportMarkdown(v: ReportView): string {
  const lines = ["### Energy per step", ""];
  if (v.steps.length === 0) return [...lines, `No steps in ${escape(v.source)}.`, ""].join("\n");
  const first = v.steps[0]!;
  lines.push(
    `${first.figure} above the idle baseline; CO2e at ${first.gridIntensityGPerKwh} g/kWh (${escape(first.gridSource)}).`,
    "",
    `| ${REPORT_COLUMNS.map((c) => escape(columnTitle(c))).join(" | ")} |`,
    `| ${REPORT_COLUMNS.map((c, i) => (i === 0 ? ":--" : "--:")).join(" | ")} |`,
    ...v.steps.map((s) => row(stepRow(s), false)),
    row(totalRow(v.steps), true),
  );
  const notes = [
    ...v.steps
      .filter((s) => s.tooShort)
      .map((s) => `step "${s.step}" is ${tooShortReason(s)} (not in the total)`),
    ...v.notes,
  ];
  if (notes.length) lines.push("", ...notes.map((n) => `- ${escape(n)}`));
  if (v.gate.length) {
    lines.push("", "#### Energy gate", "");
    const mark = { over: "❌", ok: "✅", skipped: "➖" } as const;
    lines.push(...v.gate.map((g) => `- ${mark[g.verdict]} ${escape(g.text)}`));
  }
  return `${lines.join("\n")}\n`;
}

function row(r: ReportRow, bold: boolean): string {
  const cells = REPORT_COLUMNS.map((c) => {
    const v = c.get(r);
    const text =
      v === undefined || v === null || (typeof v === "number" && !Number.isFinite(v))
        ? "-"
        : typeof v === "number"
          ? v.toFixed(c.decimals ?? 2)
          : escape(v);
    return bold ? `**${text}**` : text;
  });
  return `| ${cells.join(" | ")} |`;
}

/** Table cells and list items: a `|` would end the cell, `<`/`*`/`_` would turn into markup. */
function escape(s: string): string {
  return s.replace(/([\\|*_`<>[\]])/g, "\\$1");
}
