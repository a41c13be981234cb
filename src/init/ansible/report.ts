/**
 * The import report as the user reads it: every variable accounted for once, in one of three sections.
 * Entries that differ only by host are one line, so a 20-node inventory gives one line per variable.
 */
import type { Raw } from "../draft.js";
import type { ImportReport, ReportEntry, Section } from "./import.js";

interface Line {
  first: ReportEntry;
  /** Hosts whose own (host) variable this line reports. */
  definedOn: string[];
  /** Hosts a group variable was evaluated for. */
  evaluatedFor: string[];
}

/** The report's lines by section, in the order the variables were met. */
export function reportLines(report: ImportReport): Record<Section, string[]> {
  const lines = new Map<string, Line>();
  /** How many distinct lines one variable (one flag of it) gives: more than one names the hosts. */
  const variants = new Map<string, number>();
  for (const e of report.entries) {
    const hostDef = e.where.startsWith("host ");
    const variable = [e.name, hostDef ? "host" : e.where, e.part ?? ""].join("\u0000");
    const key = [variable, e.section, e.text].join("\u0000");
    let line = lines.get(key);
    if (!line) {
      line = { first: e, definedOn: [], evaluatedFor: [] };
      lines.set(key, line);
      variants.set(variable, (variants.get(variable) ?? 0) + 1);
    }
    if (hostDef) line.definedOn.push(e.where.slice("host ".length));
    else if (e.host && !line.evaluatedFor.includes(e.host)) line.evaluatedFor.push(e.host);
  }
  const out: Record<Section, string[]> = { taken: [], input: [], ignored: [] };
  for (const { first: e, definedOn, evaluatedFor } of lines.values()) {
    const where =
      definedOn.length > 0 ? `host${definedOn.length > 1 ? "s" : ""} ${definedOn.join(", ")}` : e.where;
    const variable = [e.name, definedOn.length > 0 ? "host" : e.where, e.part ?? ""].join("\u0000");
    // A group variable names its hosts when they fare differently, or when each host's value must be entered.
    const forHosts =
      definedOn.length === 0 &&
      evaluatedFor.length > 0 &&
      ((variants.get(variable) ?? 0) > 1 || e.perNode === true)
        ? ` [for ${evaluatedFor.join(", ")}]`
        : "";
    const part = e.part ? ` \`${e.part}\`` : "";
    // "→ key" and "= key" read on from the name, as does a needs-input reason ("is a Jinja expression").
    const text = /^[→=]/.test(e.text) || e.section === "input" ? ` ${e.text}` : `: ${e.text}`;
    out[e.section].push(`\`${e.name}\` (${where})${part}${forHosts}${text}`);
  }
  return out;
}

export function formatImportReport(report: ImportReport, imported: Raw[], interactive: boolean): string[] {
  const hosts = imported.map((n) => `${String(n.name ?? n.ssh_address)} (${String(n.role)})`).join(", ");
  const lines = [`Imported ${imported.length} host(s) from ${report.file}: ${hosts}`];
  if (report.vault) lines.push(`Read the Ansible vault ${report.vault}`);
  const by = reportLines(report);
  const section = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push(`  ${title}:`);
    for (const item of items) lines.push(`    ${item}`);
  };
  section("taken over", by.taken);
  section(interactive ? "needs input (asked below)" : "needs input (supply it as listed below)", by.input);
  section("ignored (why)", by.ignored);
  section("notes", report.notes);
  return lines;
}
