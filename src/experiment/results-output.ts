/**
 * The three faces of a priced experiment (price.ts' PricedExperiment), as `energy` has them:
 *
 *   resultsText(priced, ctx)  -> string    two tables (phases over their repetitions, then every run) and the notes
 *   resultsJson(priced, ctx)  -> object[]  one object per line for `--json`: `phase-summary`, `phase-run`
 *                                          (one per run and group), then one `experiment` object with the notes
 *   resultsCsv(priced)        -> string    RFC 4180 (CRLF line ends, quoted where needed, header row), one row
 *                                          per phase summary, then one per run and group; write it as it is
 *
 * CSV columns are the same for both kinds of row (`record` tells them apart) so that a notebook reads the
 * file with a bare `pandas.read_csv(path)` and filters: in a `summary` row `joules`/`watts` are the mean
 * over the phase's runs and the `*_stdev` columns their sample standard deviation; in a `run` row they are
 * the run's own figures and the `*_stdev` cells are empty. Units are in the column names. Nothing is
 * rounded in JSON or CSV; a missing figure is empty (CSV) or null (JSON), never 0.
 */
import { renderTable, type Column } from "../ui/table.js";
import { humanDuration, isoTime } from "../prometheus/window.js";
import { runSeconds, type PricedExperiment } from "./price.js";
import type { GroupEnergy, PhaseSummary, PricedPhaseRun } from "./types.js";

export interface ResultsContext {
  /** The plan's name. */
  experiment: string;
  /** Prometheus' URL (without credentials), when known. */
  prometheus?: string;
}

type Obj = Record<string, unknown>;

interface RunRow {
  run: PricedPhaseRun;
  g: GroupEnergy;
}

function runRows(p: PricedExperiment): RunRow[] {
  return p.runs.flatMap((run) => run.groups.map((g) => ({ run, g })));
}

// ---- text -----------------------------------------------------------------------------------------

const summaryColumns: Array<Column<PhaseSummary>> = [
  { header: "phase", get: (s) => s.phase },
  { header: "group", get: (s) => s.group },
  { header: "key", get: (s) => s.key },
  { header: "runs", get: (s) => s.count, decimals: 0 },
  { header: "energy", unit: "J", decimals: 1, get: (s) => s.meanJ },
  { header: "sd", unit: "J", decimals: 1, get: (s) => s.stdevJ },
  { header: "power", unit: "W", decimals: 2, get: (s) => s.meanW },
  { header: "sd", unit: "W", decimals: 2, get: (s) => s.stdevW },
  { header: "above idle", unit: "J", decimals: 1, get: (s) => s.meanNetJ },
  { header: "sd", unit: "J", decimals: 1, get: (s) => s.stdevNetJ },
  { header: "DRAM", unit: "J", decimals: 1, get: (s) => s.meanDramJ },
  { header: "platform", unit: "W", decimals: 2, get: (s) => s.meanPlatformW },
  { header: "sd", unit: "W", decimals: 2, get: (s) => s.stdevPlatformW },
  { header: "platform above idle", unit: "J", decimals: 1, get: (s) => s.meanPlatformNetJ },
];

const runColumns: Array<Column<RunRow>> = [
  { header: "phase", get: (r) => r.run.phase },
  { header: "run", get: (r) => r.run.repetition, decimals: 0 },
  { header: "start", get: (r) => isoTime(r.run.startMs) },
  { header: "length", unit: "s", decimals: 1, get: (r) => runSeconds(r.run) },
  { header: "group", get: (r) => r.g.group },
  { header: "key", get: (r) => r.g.key },
  { header: "energy", unit: "J", decimals: 1, get: (r) => r.g.joules },
  { header: "power", unit: "W", decimals: 2, get: (r) => r.g.watts },
  { header: "idle baseline", unit: "J", decimals: 1, get: (r) => r.g.baselineJ },
  { header: "above idle", unit: "J", decimals: 1, get: (r) => r.g.netJ },
  { header: "DRAM", unit: "J", decimals: 1, get: (r) => r.g.dramJ },
  { header: "platform", unit: "J", decimals: 1, get: (r) => r.g.platformJ },
  { header: "platform", unit: "W", decimals: 2, get: (r) => r.g.platformW },
  { header: "platform above idle", unit: "J", decimals: 1, get: (r) => r.g.platformNetJ },
];

export function resultsText(p: PricedExperiment, ctx: ResultsContext): string {
  const span =
    p.runs.length === 0
      ? "no phase runs"
      : `${p.runs.length} phase runs, ${isoTime(p.runs[0]!.startMs)} to ${isoTime(Math.max(...p.runs.map((r) => r.endMs)))} ` +
        `(${humanDuration(Math.max(...p.runs.map((r) => r.endMs)) - p.runs[0]!.startMs)})`;
  return [
    `experiment ${ctx.experiment}: ${span}; Kepler ${p.kepler}${ctx.prometheus ? ` via ${ctx.prometheus}` : ""}`,
    `figure: ${p.figure}`,
    "above idle: a node's idle power (its idle phase runs) times the run's length, subtracted; sd: sample standard deviation over the runs (0 for one run)",
    "",
    "phases, mean over their runs",
    renderTable(summaryColumns, p.summaries),
    "",
    "runs",
    renderTable(runColumns, runRows(p)),
    ...(p.notes.length ? ["", ...p.notes.map((n) => `note: ${n}`)] : []),
  ].join("\n");
}

// ---- JSON -----------------------------------------------------------------------------------------

/** JSON has no undefined or NaN: a figure that is not there is null, so every object has the same keys. */
function nullish(v: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : v;
}

function runObject({ run, g }: RunRow): Obj {
  return {
    type: "phase-run",
    phase: run.phase,
    repetition: run.repetition,
    from: isoTime(run.startMs),
    to: isoTime(run.endMs),
    seconds: runSeconds(run),
    nodes: run.nodes,
    jobs: run.jobs,
    group: g.group,
    key: g.key,
    joules: g.joules,
    watts: nullish(g.watts),
    baselineJ: nullish(g.baselineJ),
    netJ: nullish(g.netJ),
    dramJ: nullish(g.dramJ),
    platformJ: nullish(g.platformJ),
    platformW: nullish(g.platformW),
    platformBaselineJ: nullish(g.platformBaselineJ),
    platformNetJ: nullish(g.platformNetJ),
    pods: g.pods ?? null,
  };
}

function summaryObject(s: PhaseSummary): Obj {
  return {
    type: "phase-summary",
    phase: s.phase,
    group: s.group,
    key: s.key,
    count: s.count,
    meanSeconds: nullish(s.meanSeconds),
    meanJ: nullish(s.meanJ),
    stdevJ: nullish(s.stdevJ),
    meanW: nullish(s.meanW),
    stdevW: nullish(s.stdevW),
    meanNetJ: nullish(s.meanNetJ),
    stdevNetJ: nullish(s.stdevNetJ),
    meanDramJ: nullish(s.meanDramJ),
    platformCount: s.platformCount ?? 0,
    meanPlatformJ: nullish(s.meanPlatformJ),
    stdevPlatformJ: nullish(s.stdevPlatformJ),
    meanPlatformW: nullish(s.meanPlatformW),
    stdevPlatformW: nullish(s.stdevPlatformW),
    meanPlatformNetJ: nullish(s.meanPlatformNetJ),
  };
}

export function resultsJson(p: PricedExperiment, ctx: ResultsContext): Obj[] {
  return [
    ...p.summaries.map(summaryObject),
    ...runRows(p).map(runObject),
    {
      type: "experiment",
      experiment: ctx.experiment,
      prometheus: ctx.prometheus ?? null,
      kepler: p.kepler,
      figure: p.figure,
      runs: p.runs.length,
      phases: [...new Set(p.summaries.map((s) => s.phase))],
      notes: p.notes,
    },
  ];
}

// ---- CSV ------------------------------------------------------------------------------------------

type CsvCell = string | number | undefined;

interface CsvColumn {
  name: string;
  summary: (s: PhaseSummary) => CsvCell;
  run: (r: RunRow) => CsvCell;
}

const none = () => undefined;

/** Column names: lower case, `_`, units spelled out (joules, watts, seconds): `df.net_joules` works. */
const CSV_COLUMNS: CsvColumn[] = [
  { name: "record", summary: () => "summary", run: () => "run" },
  { name: "phase", summary: (s) => s.phase, run: (r) => r.run.phase },
  { name: "repetition", summary: none, run: (r) => r.run.repetition },
  { name: "group", summary: (s) => s.group, run: (r) => r.g.group },
  { name: "key", summary: (s) => s.key, run: (r) => r.g.key },
  { name: "count", summary: (s) => s.count, run: () => 1 },
  { name: "start", summary: none, run: (r) => isoTime(r.run.startMs) },
  { name: "end", summary: none, run: (r) => isoTime(r.run.endMs) },
  { name: "seconds", summary: (s) => s.meanSeconds, run: (r) => runSeconds(r.run) },
  { name: "joules", summary: (s) => s.meanJ, run: (r) => r.g.joules },
  { name: "joules_stdev", summary: (s) => s.stdevJ, run: none },
  { name: "watts", summary: (s) => s.meanW, run: (r) => r.g.watts },
  { name: "watts_stdev", summary: (s) => s.stdevW, run: none },
  { name: "baseline_joules", summary: none, run: (r) => r.g.baselineJ },
  { name: "net_joules", summary: (s) => s.meanNetJ, run: (r) => r.g.netJ },
  { name: "net_joules_stdev", summary: (s) => s.stdevNetJ, run: none },
  { name: "dram_joules", summary: (s) => s.meanDramJ, run: (r) => r.g.dramJ },
  {
    name: "platform_count",
    summary: (s) => s.platformCount ?? 0,
    run: (r) => (r.g.platformJ === undefined ? 0 : 1),
  },
  { name: "platform_joules", summary: (s) => s.meanPlatformJ, run: (r) => r.g.platformJ },
  { name: "platform_joules_stdev", summary: (s) => s.stdevPlatformJ, run: none },
  { name: "platform_watts", summary: (s) => s.meanPlatformW, run: (r) => r.g.platformW },
  { name: "platform_watts_stdev", summary: (s) => s.stdevPlatformW, run: none },
  { name: "platform_baseline_joules", summary: none, run: (r) => r.g.platformBaselineJ },
  { name: "platform_net_joules", summary: (s) => s.meanPlatformNetJ, run: (r) => r.g.platformNetJ },
];

export const CSV_HEADER: readonly string[] = CSV_COLUMNS.map((c) => c.name);

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(v: CsvCell): string {
  const s = v === undefined || (typeof v === "number" && !Number.isFinite(v)) ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function resultsCsv(p: PricedExperiment): string {
  const line = (cells: CsvCell[]) => cells.map(csvField).join(",");
  const lines = [
    line([...CSV_HEADER]),
    ...p.summaries.map((s) => line(CSV_COLUMNS.map((c) => c.summary(s)))),
    ...runRows(p).map((r) => line(CSV_COLUMNS.map((c) => c.run(r)))),
  ];
  return lines.map((l) => `${l}\r\n`).join("");
}
