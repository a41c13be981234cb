/**
 * `powerstack measure -- <command...>`: run a command (a benchmark, a CI job) and answer "what did it
 * cost?": the energy per group while it ran, the same groups' idle baseline over an equal window just
 * before, and the difference. The command's exit code is powerstack's exit code, so it drops into CI.
 *
 * Prometheus is checked before the command runs: a one-hour benchmark should not end in "unreachable".
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { ParsedCommand } from "./argv.js";
import { describeError, ExitCode, InputError, PowerstackError } from "../errors.js";
import { PrometheusClient } from "../prometheus/client.js";
import { costRows, measureWindows } from "../prometheus/cost.js";
import { readCoverage } from "../prometheus/coverage.js";
import { explainMissing } from "../prometheus/diagnose.js";
import { collectEnergy } from "../prometheus/energy-report.js";
import { costCsv, costJson, costText, type CostReport } from "../prometheus/energy-output.js";
import { primarySeries, selector, type Grouping } from "../prometheus/kepler-metrics.js";
import { resolveSettings, type EnergySettings } from "../prometheus/settings.js";
import { humanDuration, type Window } from "../prometheus/window.js";
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
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const o = cmd.opts<MeasureOptions>();
  const argv = (cmd.args[0] as string[] | undefined) ?? [];
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
  // The last scrape inside the run window must have landed; half an interval more covers its own duration.
  const waitMs = windows.run.toMs + s.scrapeIntervalMs * 1.5 - Date.now();
  if (waitMs > 0) {
    out.error(`powerstack: waiting ${humanDuration(waitMs)} for Prometheus to scrape the end of the run`);
    await new Promise((r) => setTimeout(r, waitMs));
  }
  const nowMs = Date.now();
  const opts = { nowMs, flavourSource: s.flavourSource, coverage: false };
  const run = await collectEnergy(client, s.line, by, windows.run, opts);
  const baseline = await collectEnergy(client, s.line, by, windows.baseline, opts);
  const coverage = await readCoverage(client, s.line, {
    fromMs: windows.baseline.fromMs,
    toMs: windows.run.toMs,
  });
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
