/** The import report as the user reads it: every variable accounted for, none dropped silently. */
import type { Raw } from "../draft.js";
import type { ImportReport } from "./import.js";

export function formatImportReport(report: ImportReport, imported: Raw[], interactive: boolean): string[] {
  const hosts = imported.map((n) => `${String(n.name ?? n.ssh_address)} (${String(n.role)})`).join(", ");
  const lines = [`Imported ${imported.length} host(s) from ${report.file}: ${hosts}`];
  const section = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push(`  ${title}:`);
    for (const item of items) lines.push(`    ${item}`);
  };
  section("taken over", report.imported);
  section(
    interactive ? "must be entered (asked below)" : "must be entered (supply them as listed below)",
    report.toEnter,
  );
  section("ignored (known, not needed by powerstack)", report.ignored);
  section("not recognised (not imported: carry over by hand with --set if they matter)", report.unrecognised);
  section("notes", report.notes);
  return lines;
}
