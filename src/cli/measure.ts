/**
 * `powerstack measure -- <command...>`: run a command (a benchmark, a CI job) and answer "what did it
 * cost?": the energy per group while it ran, the same groups' idle baseline over an equal window just
 * before, and the difference. The command's exit code is powerstack's exit code, so it drops into CI.
 *
 * Prometheus is checked before the command runs: a one-hour benchmark should not end in "unreachable".
 */
import { spawn } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync } from "node:fs";
import { constants } from "node:os";
import { dirname, resolve } from "node:path";
import type { ParsedCommand } from "./argv.js";
import { describeError, ExitCode, InputError, PowerstackError } from "../errors.js";
import { gate, parseEnergy, parseLimits, parsePercent, type GateOptions } from "../measure/gate.js";
import { reportJunit } from "../measure/formats/junit.js";
import { reportMarkdown } from "../measure/formats/markdown.js";
import { reportOpenMetrics } from "../measure/formats/openmetrics.js";
import { reportText, stepText, type ReportView } from "../measure/formats/text.js";
import { appendStep, latestPerStep, readReport, readReports } from "../measure/report-file.js";
import { measureStep, overlapCaveats, type StepRecord } from "../measure/step-record.js";
import { PrometheusClient } from "../prometheus/client.js";
import { costRows, measureWindows, type MeasureWindows } from "../prometheus/cost.js";
import { readCoverage } from "../prometheus/coverage.js";
import { explainMissing } from "../prometheus/diagnose.js";
import { collectEnergy } from "../prometheus/energy-report.js";
import { costCsv, costJson, costText, type CostReport } from "../prometheus/energy-output.js";
import { primarySeries, selector, type Grouping } from "../prometheus/kepler-metrics.js";
import { resolveSettings, type EnergySettings } from "../prometheus/settings.js";
import { humanDuration, parseDuration, type Window } from "../prometheus/window.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import type { GlobalOptions } from "./options.js";

interface MeasureOptions {
  by: Grouping;
  csv?: boolean;
  prometheus?: string;
  kepler?: string;
  gridIntensity?: string;
  scrapeInterval?: string;
  step?: string;
  report?: string;
  keplerInterval?: string;
  format: "text" | "markdown" | "openmetrics" | "junit";
  baseline?: string;
  maxIncrease: string[];
  budget: string[];
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const o = cmd.opts<MeasureOptions>();
  const argv = (cmd.args[0] as string[] | undefined) ?? [];
  // `measure report F` renders a report; `measure -- report F` runs a command named report.
  if (argv[0] === "report" && cmd.beforeDashDash > 0) return runReport(opts, o, argv.slice(1));
  if (o.step !== undefined || o.report !== undefined) return runStep(opts, o, argv);
  for (const [set, flag] of [
    [o.format !== "text", "--format"],
    [
      o.baseline !== undefined || o.maxIncrease.length > 0 || o.budget.length > 0,
      "--baseline/--max-increase/--budget",
    ],
    [o.keplerInterval !== undefined, "--kepler-interval"],
  ] as const) {
    if (set)
      throw new InputError(
        `${flag} applies to pipeline steps, and this is a plain \`measure\``,
        "record a step with --step NAME --report FILE, or render a report with `powerstack measure report FILE`",
      );
  }
  if (argv.length === 0) {
    throw new InputError(
      "no command to measure",
      "put it after `--`: powerstack measure -- <command> [args...]",
    );
  }
  if (o.csv && opts.json) throw new InputError("--csv and --json both asked for", "pick one output format");
  const out = new Output(new Redactor(), opts.json);
  const settings = resolveSettings(opts.inventory, o);
  const client = new PrometheusClient(settings.prometheusUrl);
  await preflight(client, settings, o.by);

  // With --json/--csv stdout carries only powerstack's answer: the command's own output goes to stderr.
  const { exitCode, window: command } = await runCommand(argv, out, Boolean(opts.json || o.csv));
  try {
    const report = await measure(client, settings, o.by, command, argv, exitCode, out);
    const pricing = { gridIntensityGPerKwh: settings.gridIntensityGPerKwh, gridSource: settings.gridSource };
    if (opts.json) for (const obj of costJson(report, pricing, client.url)) out.object(obj);
    else if (o.csv) out.info(costCsv(report, pricing));
    else out.info(costText(report, pricing, client.url));
  } catch (err) {
    // The command ran: its failure is the news. A measuring failure only decides when it succeeded.
    out.error(`powerstack: ${describeError(err)}`);
    if (exitCode !== 0) return exitCode;
    return err instanceof PowerstackError ? err.exitCode : ExitCode.failed;
  }
  return exitCode;
}

/** Prometheus answers and has the series this grouping is priced by, now. */
async function preflight(client: PrometheusClient, s: EnergySettings, by: Grouping): Promise<void> {
  const nowMs = Date.now();
  const series = primarySeries(s.line, by);
  const recent: Window = { fromMs: nowMs - Math.max(300_000, 2 * s.scrapeIntervalMs), toMs: nowMs };
  const found = await client.instant(
    `count(last_over_time(${selector(series)}[${recent.toMs - recent.fromMs}ms]))`,
    nowMs,
  );
  if (found.length === 0) throw await explainMissing(client, s.line, series, recent, nowMs, s.flavourSource);
}

async function measure(
  client: PrometheusClient,
  s: EnergySettings,
  by: Grouping,
  command: Window,
  argv: string[],
  exitCode: number,
  out: Output,
): Promise<CostReport> {
  const windows = measureWindows(command, s.scrapeIntervalMs);
  await waitForLastScrape(windows, s, out);
  const nowMs = Date.now();
  const opts = { nowMs, flavourSource: s.flavourSource, coverage: false };
  // Three independent reads: in parallel, as measureStep does.
  const [run, baseline, coverage] = await Promise.all([
    collectEnergy(client, s.line, by, windows.run, opts),
    collectEnergy(client, s.line, by, windows.baseline, opts),
    readCoverage(client, s.line, { fromMs: windows.baseline.fromMs, toMs: windows.run.toMs }),
  ]);
  return {
    by,
    line: s.line,
    windows,
    rows: costRows(run.rows, baseline.rows),
    coverage,
    notes: [...new Set([...run.notes, ...baseline.notes])],
    command: argv,
    exitCode,
  };
}

/** The last scrape inside the run window must have landed; half an interval more covers its own duration. */
async function waitForLastScrape(windows: MeasureWindows, s: EnergySettings, out: Output): Promise<void> {
  const waitMs = windows.run.toMs + s.scrapeIntervalMs * 1.5 - Date.now();
  if (waitMs > 0) {
    out.error(`powerstack: waiting ${humanDuration(waitMs)} for Prometheus to scrape the end of the run`);
    await new Promise((r) => setTimeout(r, waitMs));
  }
}

// ---- pipeline steps -------------------------------------------------------------------------------

/**
 * `measure --step NAME --report FILE -- cmd`: run, measure, append one line to the report, print the
 * step, gate it when asked. Everything that can be wrong with the flags or files is checked before the
 * command runs. The exit code: the command's when it failed, else 1 when the gate failed, else 0.
 */
async function runStep(opts: GlobalOptions, o: MeasureOptions, argv: string[]): Promise<number> {
  if (o.step === undefined || o.report === undefined)
    throw new InputError(
      o.step === undefined
        ? "--report needs --step NAME: the step's name in the report"
        : "--step needs --report FILE",
      "e.g. powerstack measure --step build --report energy.jsonl -- make",
    );
  if (o.step.trim() === "") throw new InputError("--step is empty", "name the step, e.g. --step build");
  if (argv.length === 0)
    throw new InputError(
      "no command to measure",
      `put it after \`--\`: powerstack measure --step ${o.step} --report ${o.report} -- <command>`,
    );
  if (o.csv)
    throw new InputError(
      "--csv does not apply to --step",
      "render the report with `powerstack measure report FILE`",
    );
  if (o.format !== "text")
    throw new InputError(
      "--format applies to `measure report`, not to recording a step",
      `record as JSON Lines, then render: powerstack measure report ${o.report} --format ${o.format}`,
    );
  const reportDir = dirname(resolve(o.report));
  try {
    accessSync(reportDir, fsConstants.W_OK);
  } catch {
    throw new InputError(
      `--report ${o.report}: cannot write in ${reportDir}`,
      "create the directory or pick a writable path",
    );
  }
  const gateOpts = gateOptions(o);
  const out = new Output(new Redactor(), opts.json);
  const settings = resolveSettings(opts.inventory, o);
  const keplerIntervalMs =
    o.keplerInterval !== undefined ? parseDuration(o.keplerInterval, "--kepler-interval") : undefined;
  const client = new PrometheusClient(settings.prometheusUrl);
  await preflight(client, settings, "node");

  const { exitCode, window } = await runCommand(argv, out, Boolean(opts.json));
  try {
    await waitForLastScrape(measureWindows(window, settings.scrapeIntervalMs), settings, out);
    const earlier = earlierSteps(o.report);
    const record = await measureStep(client, settings, {
      name: o.step,
      command: argv,
      exitCode,
      window,
      keplerIntervalMs,
      nowMs: Date.now(),
      earlier,
    });
    // Steps appended meanwhile by parallel jobs were not known when the baseline was chosen.
    record.caveats.push(...overlapCaveats(record, earlierSteps(o.report)));
    appendStep(o.report, record);
    const verdicts = gate([record], gateOpts);
    if (opts.json) {
      out.object({ type: "step", ...record });
      for (const g of verdicts) out.object({ type: "gate", ...g });
    } else
      out.info(
        [stepText(record, o.report), ...(verdicts.length ? ["", ...verdicts.map((g) => g.text)] : [])].join(
          "\n",
        ),
      );
    if (exitCode !== 0) return exitCode;
    return verdicts.some((g) => g.verdict === "over") ? ExitCode.failed : ExitCode.ok;
  } catch (err) {
    out.error(`powerstack: ${describeError(err)}`);
    if (exitCode !== 0) return exitCode;
    return err instanceof PowerstackError ? err.exitCode : ExitCode.failed;
  }
}

/** `measure report FILE...`: every step (the latest of a name), the total, the gate; exit 1 when it fails. */
async function runReport(opts: GlobalOptions, o: MeasureOptions, files: string[]): Promise<number> {
  if (files.length === 0)
    throw new InputError(
      "`measure report` needs a report file",
      "e.g. powerstack measure report energy.jsonl",
    );
  if (o.step !== undefined || o.report !== undefined)
    throw new InputError(
      "--step/--report record a step; `measure report` only reads",
      "drop them, or record with `powerstack measure --step NAME --report FILE -- <command>`",
    );
  if (o.csv) throw new InputError("--csv does not apply to `measure report`", "use --format or --json");
  if (opts.json && o.format !== "text")
    throw new InputError(`--json and --format ${o.format} both asked for`, "pick one output format");
  const gateOpts = gateOptions(o);
  const { steps, replaced } = latestPerStep(readReports(files));
  const verdicts = gate(steps, gateOpts);
  const view: ReportView = {
    steps,
    source: files.join(", "),
    notes: replaced.map((s) => `step "${s}" was recorded more than once; the latest recording is shown`),
    gate: verdicts,
  };
  const out = new Output(new Redactor(), opts.json);
  if (opts.json) {
    for (const s of steps) out.object({ type: "step", ...s });
    for (const g of verdicts) out.object({ type: "gate", ...g });
  } else if (o.format === "text") out.info(reportText(view));
  else {
    const render = { markdown: reportMarkdown, openmetrics: reportOpenMetrics, junit: reportJunit }[o.format];
    out.info(render(view).replace(/\n$/, ""));
    // stdout is the artifact (`> metrics.txt`): the verdicts go to the log as well, where the job shows them.
    if (o.format !== "markdown") for (const g of verdicts) out.error(g.text);
  }
  return verdicts.some((g) => g.verdict === "over") ? ExitCode.failed : ExitCode.ok;
}

/** The report's steps so far, to spot overlaps; a report that is missing or broken has none to offer. */
function earlierSteps(file: string): StepRecord[] {
  if (!existsSync(file)) return [];
  try {
    return readReport(file);
  } catch {
    return []; // `measure report` names the broken line; recording this step must not fail on it
  }
}

function gateOptions(o: MeasureOptions): GateOptions {
  const g: GateOptions = {
    maxIncrease: parseLimits("max-increase", o.maxIncrease, parsePercent),
    budget: parseLimits("budget", o.budget, parseEnergy),
  };
  const increase = g.maxIncrease.all !== undefined || g.maxIncrease.byStep.size > 0;
  if (increase && o.baseline === undefined)
    throw new InputError(
      "--max-increase needs --baseline FILE: the report to compare with",
      "e.g. --baseline main.jsonl --max-increase 10%",
    );
  if (o.baseline !== undefined && !increase)
    throw new InputError("--baseline without --max-increase compares nothing", "add e.g. --max-increase 10%");
  if (o.baseline !== undefined)
    g.baseline = { file: o.baseline, steps: latestPerStep(readReport(o.baseline)).steps };
  return g;
}

/**
 * Run with the terminal's stdio (stdout sent to stderr when powerstack's stdout is for machines).
 * Ctrl-C reaches the command through the terminal's process group, so powerstack ignores it meanwhile
 * (and still reports); TERM/HUP sent to powerstack alone are passed on. A command that cannot start at
 * all (not found) is an input error (exit 2), before anything was measured.
 */
function runCommand(
  argv: string[],
  out: Output,
  stdoutToStderr: boolean,
): Promise<{ exitCode: number; window: Window }> {
  return new Promise((resolveRun, rejectRun) => {
    const fromMs = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: stdoutToStderr ? ["inherit", 2, "inherit"] : "inherit",
    });
    const ignore = () => {};
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", ignore);
    process.on("SIGTERM", forward);
    process.on("SIGHUP", forward);
    const done = () => {
      process.off("SIGINT", ignore);
      process.off("SIGTERM", forward);
      process.off("SIGHUP", forward);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      done();
      const notFound = err.code === "ENOENT";
      rejectRun(
        new PowerstackError(
          `cannot run \`${argv.join(" ")}\`: ${notFound ? `${argv[0]} not found` : err.message}`,
          ExitCode.usage,
          notFound
            ? "check the command's name and PATH (it runs without a shell: use `sh -c '...'` for pipes or globs)"
            : "check the command's permissions",
        ),
      );
    });
    child.on("exit", (code, signal) => {
      done();
      const toMs = Date.now();
      // A command killed by a signal exits like a shell reports it: 128 + the signal's number.
      const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      if (signal) out.error(`powerstack: \`${argv.join(" ")}\` was killed by ${signal}`);
      resolveRun({ exitCode, window: { fromMs, toMs } });
    });
  });
}
