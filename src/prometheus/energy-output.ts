/**
 * The three faces of an energy answer: an aligned table for people (sorted by energy, totals row),
 * one JSON object per row plus a summary (exact numbers, nothing rounded), and CSV (full precision,
 * rows only: a spreadsheet sums by itself). Coverage problems (gaps, resets) and missing figures are
 * printed under the table and carried in the JSON summary, so nobody reads a number without its caveats.
 */
import type { KeplerFlavour } from "../inventory/types.js";
import { columnTitle, renderTable, type Column } from "../ui/table.js";
import { CO2_SOURCE_REFERENCE, CO2_SOURCES, co2GramsBySource, describeCo2Sources } from "./co2-sources.js";
import type { CostRow, MeasureWindows } from "./cost.js";
import type { NodeCoverage } from "./coverage.js";
import type { EnergyReport, EnergyRow } from "./energy-report.js";
import { averageWatts, co2Grams, kwh, sumDefined } from "./energy-math.js";
import { isDetect, KEPLER_LINES, type Grouping, type LineSetting } from "./kepler-metrics.js";
import { humanDuration, isoTime, windowSeconds } from "./window.js";

export interface Pricing {
  gridIntensityGPerKwh: number;
  gridSource: string;
}

type Obj = Record<string, unknown>;

/** One column of every face: the table's header/unit/decimals, the CSV/JSON field name. */
interface Field<R> extends Column<R> {
  field: string;
}

function keyFields<R extends { key: Record<string, string> }>(by: Grouping): Array<Field<R>> {
  const names = by === "pod" ? ["namespace", "pod"] : [by];
  return names.map((n) => ({ header: n, field: n, get: (r: R) => r.key[n] }));
}

// ---- energy ---------------------------------------------------------------------------------------

function energyFields(report: EnergyReport, p: Pricing): Array<Field<EnergyRow>> {
  const s = windowSeconds(report.window);
  const fields: Array<Field<EnergyRow>> = [
    ...keyFields<EnergyRow>(report.by),
    {
      header: report.by === "node" ? "CPU energy" : "energy",
      unit: "J",
      field: "joules",
      decimals: 1,
      get: (r) => r.joules,
    },
    { header: "energy", unit: "kWh", field: "kwh", decimals: 6, get: (r) => kwh(r.joules) },
    { header: "avg power", unit: "W", field: "watts", decimals: 2, get: (r) => averageWatts(r.joules, s) },
    {
      header: "CO2e",
      unit: "g",
      field: "co2G",
      decimals: 3,
      get: (r) => co2Grams(r.joules, p.gridIntensityGPerKwh),
    },
    ...co2SourceFields<EnergyRow>((r) => r.joules),
  ];
  if (report.by === "node") {
    fields.push(
      { header: "DRAM", unit: "J", field: "dramJ", decimals: 1, get: (r) => r.dramJ },
      { header: "platform", unit: "J", field: "platformJ", decimals: 1, get: (r) => r.platformJ },
      {
        header: "platform",
        unit: "W",
        field: "platformW",
        decimals: 2,
        get: (r) => (r.platformJ === undefined ? undefined : averageWatts(r.platformJ, s)),
      },
    );
  }
  return fields;
}

function energyTotal(report: EnergyReport): EnergyRow {
  const key = Object.fromEntries(
    Object.keys(report.rows[0]?.key ?? { [report.by]: "" }).map((k, i) => [k, i === 0 ? "total" : ""]),
  );
  return {
    key,
    joules: report.rows.reduce((a, r) => a + r.joules, 0),
    dramJ: sumDefined(report.rows.map((r) => r.dramJ)),
    platformJ: sumDefined(report.rows.map((r) => r.platformJ)),
  };
}

export function energyText(report: EnergyReport, p: Pricing, prometheusUrl: string): string {
  const w = report.window;
  return [
    `energy by ${report.by}, ${isoTime(w.fromMs)} to ${isoTime(w.toMs)} (${humanDuration(w.toMs - w.fromMs)}), Kepler ${keplerText(report.line, reportFlavours(report))} via ${prometheusUrl}`,
    figureLine(reportFlavours(report), report.by, p),
    "",
    renderTable(energyFields(report, p), report.rows, { totals: energyTotal(report) }),
    ...caveats(report.coverage, report.notes),
  ].join("\n");
}

export function energyJson(report: EnergyReport, p: Pricing, prometheusUrl: string): Obj[] {
  const fields = energyFields(report, p);
  const total = energyTotal(report);
  const s = windowSeconds(report.window);
  const rows = report.rows.map((r) => ({ type: "row", by: report.by, ...objectOf(fields, r) }));
  const summary: Obj = {
    type: "summary",
    by: report.by,
    from: isoTime(report.window.fromMs),
    to: isoTime(report.window.toMs),
    seconds: s,
    ...keplerJson(report.line, reportFlavours(report)),
    keplerNodes: Object.fromEntries(
      report.plan.parts.flatMap((part) => part.nodes.map((n) => [n, part.line.flavour])).sort(),
    ),
    prometheus: prometheusUrl,
    figure: figureOf(reportFlavours(report), report.by),
    query: report.query,
    gridIntensityGPerKwh: p.gridIntensityGPerKwh,
    gridSource: p.gridSource,
    co2Sources: co2SourcesJson(),
    rows: report.rows.length,
    ...omitKeys(objectOf(fields, total), Object.keys(total.key)),
    ...coverageJson(report.coverage),
    notes: report.notes,
  };
  return [...rows, summary];
}

export function energyCsv(report: EnergyReport, p: Pricing): string {
  return csv(energyFields(report, p), report.rows);
}

// ---- measure --------------------------------------------------------------------------------------

export interface CostReport {
  by: Grouping;
  /** As asked (a named line or detection); the lines that priced each row are in `rows[].lines`. */
  line: LineSetting;
  windows: MeasureWindows;
  rows: CostRow[];
  coverage: NodeCoverage[];
  notes: string[];
  command: string[];
  exitCode: number;
}

function costFields(r: CostReport, p: Pricing): Array<Field<CostRow>> {
  const s = windowSeconds(r.windows.run);
  return [
    ...keyFields<CostRow>(r.by),
    { header: "during run", unit: "J", field: "runJ", decimals: 1, get: (x) => x.runJ },
    { header: "idle baseline", unit: "J", field: "baselineJ", decimals: 1, get: (x) => x.baselineJ },
    { header: "cost", unit: "J", field: "costJ", decimals: 1, get: (x) => x.costJ },
    { header: "cost", unit: "kWh", field: "costKwh", decimals: 6, get: (x) => kwh(x.costJ) },
    { header: "extra power", unit: "W", field: "extraW", decimals: 2, get: (x) => averageWatts(x.costJ, s) },
    {
      header: "CO2e",
      unit: "g",
      field: "co2G",
      decimals: 3,
      get: (x) => co2Grams(x.costJ, p.gridIntensityGPerKwh),
    },
    ...co2SourceFields<CostRow>((x) => x.costJ),
  ];
}

function costTotal(r: CostReport): CostRow {
  const key = Object.fromEntries(
    Object.keys(r.rows[0]?.key ?? { [r.by]: "" }).map((k, i) => [k, i === 0 ? "total" : ""]),
  );
  const sum = (f: (x: CostRow) => number) => r.rows.reduce((a, x) => a + f(x), 0);
  return { key, runJ: sum((x) => x.runJ), baselineJ: sum((x) => x.baselineJ), costJ: sum((x) => x.costJ) };
}

export function costText(r: CostReport, p: Pricing, prometheusUrl: string): string {
  const { run, baseline, command } = r.windows;
  const lengthened = run.toMs - run.fromMs > command.toMs - command.fromMs;
  return [
    `\`${r.command.join(" ")}\` exited ${r.exitCode} after ${humanDuration(command.toMs - command.fromMs)}`,
    `run ${isoTime(run.fromMs)} to ${isoTime(run.toMs)}${lengthened ? " (lengthened to two scrape intervals; the baseline matches)" : ""}, ` +
      `idle baseline ${isoTime(baseline.fromMs)} to ${isoTime(baseline.toMs)}; Kepler ${keplerText(r.line, costFlavours(r))} via ${prometheusUrl}`,
    figureLine(costFlavours(r), r.by, p),
    "",
    renderTable(costFields(r, p), r.rows, { totals: costTotal(r) }),
    ...caveats(r.coverage, r.notes),
  ].join("\n");
}

export function costJson(r: CostReport, p: Pricing, prometheusUrl: string): Obj[] {
  const fields = costFields(r, p);
  const total = costTotal(r);
  const { run, baseline, command } = r.windows;
  const rows = r.rows.map((x) => ({ type: "row", by: r.by, ...objectOf(fields, x) }));
  const summary: Obj = {
    type: "summary",
    by: r.by,
    command: r.command,
    exitCode: r.exitCode,
    commandFrom: isoTime(command.fromMs),
    commandTo: isoTime(command.toMs),
    commandSeconds: windowSeconds(command),
    run: { from: isoTime(run.fromMs), to: isoTime(run.toMs), seconds: windowSeconds(run) },
    baseline: {
      from: isoTime(baseline.fromMs),
      to: isoTime(baseline.toMs),
      seconds: windowSeconds(baseline),
    },
    ...keplerJson(r.line, costFlavours(r)),
    prometheus: prometheusUrl,
    figure: figureOf(costFlavours(r), r.by),
    gridIntensityGPerKwh: p.gridIntensityGPerKwh,
    gridSource: p.gridSource,
    co2Sources: co2SourcesJson(),
    rows: r.rows.length,
    ...omitKeys(objectOf(fields, total), Object.keys(total.key)),
    ...coverageJson(r.coverage),
    notes: r.notes,
  };
  return [...rows, summary];
}

export function costCsv(r: CostReport, p: Pricing): string {
  return csv(costFields(r, p), r.rows);
}

// ---- shared ---------------------------------------------------------------------------------------

/**
 * Grams of CO2 had the energy come from coal, petroleum or natural gas (co2-sources.ts), beside the
 * grid-intensity CO2e. Named `CO2 coal (g)` etc.: direct CO2 at the plant, as EIA publishes it, not CO2e.
 */
function co2SourceFields<R>(joulesOf: (r: R) => number): Array<Field<R>> {
  return CO2_SOURCES.map((f) => ({
    header: `CO2 ${f.name}`,
    unit: "g",
    field: `co2${f.source[0]!.toUpperCase()}${f.source.slice(1)}G`,
    decimals: 3,
    get: (r: R) => co2GramsBySource(joulesOf(r))[f.source],
  }));
}

function co2SourcesJson(): Obj {
  return {
    reference: CO2_SOURCE_REFERENCE,
    gPerKwh: Object.fromEntries(CO2_SOURCES.map((f) => [f.source, f.gPerKwh])),
    lbPerKwh: Object.fromEntries(CO2_SOURCES.map((f) => [f.source, f.lbPerKwh])),
  };
}

/** The lines that priced the report's rows (from the window's plan). */
function reportFlavours(report: EnergyReport): KeplerFlavour[] {
  return report.plan.parts.filter((p) => p.nodes.length || !report.plan.detected).map((p) => p.line.flavour);
}

/** The lines that priced a measurement's rows: the named line, or what each row says it came from. */
function costFlavours(r: CostReport): KeplerFlavour[] {
  if (!isDetect(r.line)) return [r.line.flavour];
  const seen = new Set(r.rows.flatMap((x) => x.lines ?? []));
  return (["current", "legacy"] as const).filter((f) => seen.has(f));
}

/** `legacy`, `legacy (detected)`, `current and legacy (detected per node, see the notes)`. */
function keplerText(asked: LineSetting, flavours: KeplerFlavour[]): string {
  if (!isDetect(asked)) return asked.flavour;
  if (flavours.length === 1) return `${flavours[0]} (detected)`;
  return `${flavours.join(" and ") || "line"} (detected per node, see the notes)`;
}

function keplerJson(asked: LineSetting, flavours: KeplerFlavour[]): Obj {
  return {
    kepler: isDetect(asked) ? (flavours.length === 1 ? flavours[0] : "mixed") : asked.flavour,
    keplerDetected: isDetect(asked),
  };
}

function figureOf(flavours: KeplerFlavour[], by: Grouping): string {
  const describe = (f: KeplerFlavour) =>
    (by === "node" ? KEPLER_LINES[f].nodeCpu : KEPLER_LINES[f].workload).describes;
  return flavours.length === 1
    ? describe(flavours[0]!)
    : flavours.map((f) => `${f}: ${describe(f)}`).join("; ");
}

function figureLine(flavours: KeplerFlavour[], by: Grouping, p: Pricing): string {
  return (
    `figure: ${figureOf(flavours, by)}; CO2e at ${p.gridIntensityGPerKwh} g/kWh (${p.gridSource}); ` +
    `CO2 if generated from ${describeCo2Sources()} (${CO2_SOURCE_REFERENCE})`
  );
}

/** Lines under the table: every gap and reset, per node, and figures that had no data. */
export function caveats(coverage: NodeCoverage[], notes: string[]): string[] {
  const out: string[] = [];
  for (const c of coverage) {
    if (c.samples < 2) {
      out.push(`gap: ${c.node} has ${c.samples} sample(s) in the window: its energy is not reliable`);
      continue;
    }
    const every = `${c.intervalS} s`;
    for (const g of c.gaps) {
      const len = humanDuration(g.toMs - g.fromMs);
      if (g.where === "inside") {
        out.push(
          `gap: ${c.node} has no samples from ${isoTime(g.fromMs)} to ${isoTime(g.toMs)} (${len}: ~${g.missedScrapes} missed scrape(s) at ${every} intervals); increase() bridges it`,
        );
      } else if (g.where === "start") {
        out.push(
          `gap: ${c.node}'s first sample is at ${isoTime(g.toMs)}, ${len} after the window starts (Kepler started or was first scraped then)`,
        );
      } else {
        out.push(
          `gap: ${c.node}'s last sample is at ${isoTime(g.fromMs)}, ${len} before the window ends (Kepler stopped or is no longer scraped)`,
        );
      }
    }
    for (const t of c.resetsMs) {
      out.push(
        `reset: ${c.node}'s counters restarted by ${isoTime(t)} (Kepler restarted); increase() counts across it, energy between the scrape before and the restart is lost`,
      );
    }
  }
  if (coverage.length && out.length === 0) {
    const intervals = [...new Set(coverage.map((c) => c.intervalS))].join("/");
    out.push(
      `coverage: ${coverage.length} node(s) scraped throughout the window, every ${intervals} s, no counter resets`,
    );
  }
  out.push(...notes.map((n) => `note: ${n}`));
  return out.length ? ["", ...out] : [];
}

function coverageJson(coverage: NodeCoverage[]): Obj {
  return {
    coverage: coverage.map((c) => ({
      node: c.node,
      samples: c.samples,
      intervalS: c.intervalS ?? null,
      first: c.firstMs === undefined ? null : isoTime(c.firstMs),
      last: c.lastMs === undefined ? null : isoTime(c.lastMs),
    })),
    gaps: coverage.flatMap((c) =>
      c.gaps.map((g) => ({
        node: c.node,
        where: g.where,
        from: isoTime(g.fromMs),
        to: isoTime(g.toMs),
        seconds: (g.toMs - g.fromMs) / 1000,
        missedScrapes: g.missedScrapes,
      })),
    ),
    resets: coverage.flatMap((c) => c.resetsMs.map((t) => ({ node: c.node, at: isoTime(t) }))),
  };
}

function objectOf<R>(fields: Array<Field<R>>, row: R): Obj {
  // JSON has no NaN: a figure that cannot be computed is null.
  return Object.fromEntries(
    fields.map((f) => {
      const v = f.get(row);
      return [f.field, v === undefined || (typeof v === "number" && !Number.isFinite(v)) ? null : v];
    }),
  );
}

function omitKeys(o: Obj, keys: string[]): Obj {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

function csv<R>(fields: Array<Field<R>>, rows: R[]): string {
  const cell = (v: unknown) => {
    const s =
      v === undefined || v === null || (typeof v === "number" && !Number.isFinite(v)) ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const header = fields.map((f) => csvName(f));
  return [header.join(","), ...rows.map((r) => fields.map((f) => cell(f.get(r))).join(","))].join("\n");
}

/** `energy (kWh)` -> `energy_kwh`: CSV headers keep the unit but stay identifiers. */
function csvName<R>(f: Field<R>): string {
  return columnTitle(f)
    .toLowerCase()
    .replace(/co2e/g, "co2")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");
}
