/**
 * What verify prints: an aligned table for people (then the fixes of the failed checks, then one summary
 * line), one JSON object per check plus a summary for machines, and the exit code for CI:
 * 0 all pass (skips allowed), 1 a check failed, 3 something could not be reached (wins over 1, as in `up`).
 */
import { ExitCode } from "../errors.js";
import { renderTable, type Column } from "../ui/table.js";
import type { CheckResult } from "./check.js";

export interface Summary {
  type: "summary";
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Failed checks whose target could not be reached. */
  unreachable: number;
  exitCode: ExitCode;
}

export function exitCodeFor(results: CheckResult[]): ExitCode {
  if (results.some((r) => r.status === "fail" && r.unreachable)) return ExitCode.unreachable;
  if (results.some((r) => r.status === "fail")) return ExitCode.failed;
  return ExitCode.ok;
}

export function summarize(results: CheckResult[]): Summary {
  const count = (s: CheckResult["status"]) => results.filter((r) => r.status === s).length;
  return {
    type: "summary",
    total: results.length,
    passed: count("pass"),
    failed: count("fail"),
    skipped: count("skip"),
    unreachable: results.filter((r) => r.status === "fail" && r.unreachable).length,
    exitCode: exitCodeFor(results),
  };
}

/** `--json`: one object per check, in report order, then the summary. */
export function verifyJson(results: CheckResult[]): Array<Record<string, unknown>> {
  return [
    ...results.map((r) => ({
      type: "check",
      name: r.name,
      scope: r.scope,
      status: r.status,
      detail: r.detail,
      ...(r.fix && r.status === "fail" ? { fix: r.fix } : {}),
      ...(r.unreachable ? { unreachable: true } : {}),
      // Every check object has the same keys (fix and unreachable aside): a skip took no time.
      ms: r.ms ?? 0,
    })),
    { ...summarize(results) },
  ];
}

const STATUS: Record<CheckResult["status"], string> = { pass: "ok", fail: "FAIL", skip: "skip" };

const COLUMNS: Array<Column<CheckResult>> = [
  { header: "check", get: (r) => r.name },
  { header: "scope", get: (r) => r.scope },
  { header: "result", get: (r) => (r.unreachable ? "UNREACHABLE" : STATUS[r.status]) },
  { header: "detail", get: (r) => r.detail },
];

export function verifyText(results: CheckResult[]): string {
  const lines = [renderTable(COLUMNS, results)];
  const failed = results.filter((r) => r.status === "fail");
  if (failed.length > 0) {
    lines.push("", "To fix:");
    for (const r of failed) lines.push(`  ${r.name} (${r.scope}): ${r.fix ?? "see the detail above"}`);
  }
  const s = summarize(results);
  lines.push(
    "",
    `${s.passed} passed, ${s.failed} failed${s.unreachable ? ` (${s.unreachable} unreachable)` : ""}, ${s.skipped} skipped, of ${s.total} checks`,
  );
  return lines.join("\n");
}
