/**
 * `powerstack experiment run PLAN` and `powerstack experiment report DIR`.
 *
 * run: the plan is read and checked against the inventory; `--check` prints the Jobs it would create and
 * stops (no vault, no connection). Otherwise the cluster's versions and nodes are read (which also proves
 * kubectl answers before anything is created), a new results directory is made, the experiment runs
 * (src/experiment/run.ts), each phase's window is priced against Prometheus (src/experiment/price.ts) and
 * the results are written beside the record and printed. A failure or Ctrl-C after the run started still
 * leaves phases.json with what was measured; `report --reprice` prices it later.
 *
 * report: re-renders a results directory: from its results.json (offline) by default, or priced anew from
 * its phases.json with `--reprice`.
 */
import { stringify } from "yaml";
import type { Cluster } from "../cluster/cluster.js";
import { ExitCode, InputError, PowerstackError } from "../errors.js";
import type { KubeObject } from "../modules/kube-apply.js";
import type { ParsedCommand } from "./argv.js";
import type { GlobalOptions } from "./options.js";
import { onInterrupt, signalExitCode, type InterruptHooks } from "./interrupts.js";
import { readNodes, readVersions } from "../experiment/cluster-read.js";
import type { PricedExperiment } from "../experiment/price.js";
import { resultsCsv, resultsJson, resultsText, type ResultsContext } from "../experiment/results-output.js";
import { RESULTS_FILES, ResultsDir } from "../experiment/results-dir.js";
import {
  Interrupted,
  plannedJobs,
  runExperiment,
  sleep,
  type RunEvent,
  type Timing,
} from "../experiment/run.js";
import type { ExperimentPlan, Phase, PhaseRun } from "../experiment/types.js";
import { connectCluster } from "../cluster/connect.js";
import { pricePhases } from "../experiment/price.js";
import { PrometheusClient } from "../prometheus/client.js";
import { resolveSettings } from "../prometheus/settings.js";
import { humanDuration } from "../prometheus/window.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import { RunLog } from "../ui/run-log.js";
import { openRun } from "./context.js";
import { parse as parseYaml } from "yaml";
import type { Inventory } from "../inventory/types.js";
import { DEFAULT_NAMESPACE, loadPlan } from "../experiment/plan.js";
import {
  backgroundJobs,
  DEFAULT_MARGIN_SEC,
  jobsForPhase,
  namespaceManifest,
} from "../experiment/workloads.js";
import type { PricePlan } from "../experiment/price.js";

export interface ExperimentFlags {
  results: string;
  csv?: boolean;
  reprice?: boolean;
  prometheus?: string;
  kepler?: string;
  gridIntensity?: string;
  scrapeInterval?: string;
  plot?: string;
  tz?: string;
}

/** The plan and what it turns into on the cluster (workloads.ts), whatever the plan's source. */
export interface PreparedPlan {
  plan: ExperimentPlan;
  namespace: KubeObject;
  jobs(phase: Phase, repetition: number): KubeObject[];
  backgroundJobs?(): KubeObject[];
}

/** Where the output goes and how it looks. */
export interface Presentation {
  out: Output;
  json: boolean;
  csv: boolean;
}

// ---- --check ---------------------------------------------------------------------------------------

/** Every object the run would create, as YAML documents (or one JSON object each with --json). No kubectl. */
export function printCheck(p: PreparedPlan, show: Presentation): number {
  const { plan } = p;
  const planned = plannedJobs(plan, p.jobs, p.backgroundJobs);
  const count = planned.reduce((n, s) => n + s.objects.length, 0);
  if (show.json) {
    show.out.object({ type: "namespace", manifest: p.namespace });
    for (const s of planned)
      for (const o of s.objects)
        show.out.object({ type: "job", phase: s.phase, repetition: s.repetition ?? null, manifest: o });
    show.out.object({ type: "check", experiment: plan.name, namespace: plan.namespace, jobs: count });
    return ExitCode.ok;
  }
  // One YAML document per object, each step's comment above its first Job (a step without Jobs: above the next).
  const docs: string[] = [];
  let comment = `# experiment ${plan.name} (${plan.file}): ${plan.phases.length} phase(s) x ${plan.repetitions} repetition(s), settle ${plan.settleSec} s; --check: nothing is created\n`;
  const emit = (o: KubeObject) => {
    docs.push(comment + stringify(o));
    comment = "";
  };
  emit(p.namespace);
  for (const s of planned) {
    comment +=
      s.repetition === undefined
        ? "# background load: runs from before the first phase until after the last\n"
        : `# phase ${s.phase}, repetition ${s.repetition}${s.objects.length ? "" : ": no Job (the nodes rest)"}\n`;
    s.objects.forEach(emit);
  }
  if (comment) docs.push(comment);
  show.out.info(docs.join("---\n").replace(/\n$/, ""));
  return ExitCode.ok;
}

// ---- run -------------------------------------------------------------------------------------------

export interface RunCommandDeps extends PreparedPlan {
  /** Opened once; closed at the end. */
  connect(): Promise<Cluster & { close?(): Promise<void> }>;
  control: string;
  resultsRoot: string;
  show: Presentation;
  /** The powerstack run log (logs/...jsonl). */
  log(event: string, data: Record<string, unknown>): void;
  /** Prices the windows (waiting for Prometheus' last scrape first); the signal stops the wait. */
  price(runs: PhaseRun[], signal: AbortSignal): Promise<PricedExperiment>;
  /** Prometheus' URL for the header line (no credentials). */
  prometheus?: string;
  timing?: Partial<Timing>;
  /** Signal handling (tests pass an emitter and a fake exit). */
  interrupts?: Pick<InterruptHooks, "signals" | "exit">;
  now?: () => Date;
  /** Redacts what is written to the results directory's log. */
  redact?: (v: Record<string, unknown>) => Record<string, unknown>;
}

export interface RunOutcome {
  code: number;
  dir?: string;
}

export async function runCommand(d: RunCommandDeps): Promise<RunOutcome> {
  const { plan, show } = d;
  const redact = d.redact ?? ((v) => v);
  const cluster = await d.connect();
  let dir: ResultsDir | undefined;
  const controller = new AbortController();
  const uninstall = onInterrupt({
    ...d.interrupts,
    first: (signal) => {
      show.out.error(
        `\n${signal}: stopping: no new phase starts; the experiment's namespace is being deleted (again to exit at once)`,
      );
      d.log("interrupted", { signal });
      dir?.log("interrupted", { signal });
      controller.abort(new Interrupted(signal));
    },
    again: (signal) => {
      show.out.error(
        `${signal} again: exiting now; delete the namespace yourself: \`kubectl delete namespace ${plan.namespace}\``,
      );
      d.log("interrupted", { signal, forced: true });
      dir?.log("interrupted", { signal, forced: true });
    },
  });
  const runs: PhaseRun[] = [];
  try {
    // Read before anything is created: these prove kubectl answers, and a plan's node must exist.
    const versions = await readVersions(cluster, d.control);
    const nodes = await readNodes(cluster, d.control);
    const known = new Set(nodes.map((n) => n.name));
    const used = [...plan.phases, ...(plan.background ? [plan.background] : [])];
    for (const phase of used)
      for (const n of phase.nodes)
        if (!known.has(n))
          throw new InputError(
            `${phase.at ?? plan.file}: phase ${phase.name} runs on node ${n}, which Kubernetes does not know (it has ${[...known].join(", ") || "no node"})`,
            "a node's inventory name must be its Kubernetes name: check `kubectl get nodes`, or `powerstack verify`",
          );

    // Stopped while reading: nothing was created, and no directory is made for a run that never started.
    if (controller.signal.aborted)
      return { code: signalExitCode((controller.signal.reason as Interrupted).signal) };
    dir = ResultsDir.create(d.resultsRoot, plan.name, (d.now ?? (() => new Date()))());
    dir.write(RESULTS_FILES.plan, plan.text);
    dir.writeJson(RESULTS_FILES.versions, versions);
    dir.writeJson(RESULTS_FILES.nodes, nodes);
    dir.log("start", { experiment: plan.name, plan: plan.file, namespace: plan.namespace });
    show.out.error(`experiment ${plan.name}: recording in ${dir.path}`);
    d.log("experiment", { event: "results-dir", dir: dir.path });

    let failure: unknown;
    try {
      await runExperiment({
        cluster,
        control: d.control,
        plan,
        namespace: d.namespace,
        jobs: d.jobs,
        backgroundJobs: d.backgroundJobs,
        signal: controller.signal,
        timing: d.timing,
        onPhase: (r) => runs.push(r),
        // Progress on stderr: stdout carries the results (`> results.txt`, `--csv > x.csv`).
        report: (line: string, event: RunEvent) => {
          show.out.error(line);
          d.log("experiment", event);
          dir!.log(event.event, redact(event));
        },
      });
    } catch (err) {
      failure = err;
    } finally {
      // What was measured is kept, also when the run failed or was stopped part way.
      dir.writeJson(RESULTS_FILES.phases, runs);
    }
    if (failure !== undefined) {
      dir.log("failed", { error: failure instanceof Error ? failure.message : String(failure) });
      if (failure instanceof Interrupted) {
        show.out.error(
          `interrupted by ${failure.signal}: ${runs.length} phase run(s) recorded in ${dir.path}; ${
            runs.length
              ? `price them with \`powerstack experiment report ${dir.path} --reprice\``
              : "nothing to price"
          }`,
        );
        return { code: signalExitCode(failure.signal), dir: dir.path };
      }
      if (runs.length)
        show.out.error(
          `${runs.length} phase run(s) before the failure are recorded in ${dir.path} (\`powerstack experiment report ${dir.path} --reprice\` prices them)`,
        );
      throw failure;
    }

    let priced: PricedExperiment;
    try {
      priced = await d.price(runs, controller.signal);
    } catch (err) {
      if (err instanceof Interrupted) {
        show.out.error(
          `interrupted by ${err.signal} before pricing: the phases are recorded; price them with \`powerstack experiment report ${dir.path} --reprice\``,
        );
        return { code: signalExitCode(err.signal), dir: dir.path };
      }
      dir.log("price-failed", { error: err instanceof Error ? err.message : String(err) });
      if (err instanceof PowerstackError)
        throw new PowerstackError(
          `the experiment ran (recorded in ${dir.path}), but pricing it failed: ${err.message}`,
          err.exitCode,
          `${err.fix ? `${err.fix}; then ` : ""}price it with \`powerstack experiment report ${dir.path} --reprice\``,
        );
      throw err;
    }
    const stored = writeResults(dir, priced, { experiment: plan.name, prometheus: d.prometheus });
    dir.log("done", { runs: runs.length });
    render(stored, show);
    show.out.error(`recorded in ${dir.path}`);
    return { code: ExitCode.ok, dir: dir.path };
  } finally {
    uninstall();
    dir?.close();
    await cluster.close?.();
  }
}

// ---- results.json and its rendering ----------------------------------------------------------------

/** results.json: the priced experiment, with what its header line names. */
export interface StoredResults extends ResultsContext {
  priced: PricedExperiment;
}

/**
 * Writes results.json and results.csv, and returns what was written as it reads back: the run prints the
 * same object `experiment report` will re-read (JSON turns a NaN into null), so the two print the same.
 */
export function writeResults(
  dir: ResultsDir,
  priced: PricedExperiment,
  context: ResultsContext,
): StoredResults {
  const text = JSON.stringify({ ...context, priced }, null, 2) + "\n";
  const stored = JSON.parse(text) as StoredResults;
  dir.write(RESULTS_FILES.resultsJson, text);
  dir.write(RESULTS_FILES.resultsCsv, resultsCsv(stored.priced));
  return stored;
}

export function render(stored: StoredResults, show: Presentation): void {
  const context: ResultsContext = { experiment: stored.experiment, prometheus: stored.prometheus };
  if (show.json) for (const o of resultsJson(stored.priced, context)) show.out.object(o);
  else if (show.csv) show.out.info(resultsCsv(stored.priced).replace(/\r?\n$/, ""));
  else show.out.info(resultsText(stored.priced, context));
}

// ---- report ----------------------------------------------------------------------------------------

export interface ReportDeps {
  dir: string;
  show: Presentation;
  /** Only with --reprice: prices the directory's phases.json again (its plan, read from plan.yaml). */
  reprice?(dir: ResultsDir, runs: PhaseRun[]): Promise<StoredResults>;
}

export async function reportCommand(d: ReportDeps): Promise<number> {
  const dir = ResultsDir.open(d.dir);
  let stored: StoredResults;
  if (d.reprice) {
    const runs = dir.readJson<PhaseRun[]>(RESULTS_FILES.phases);
    if (!Array.isArray(runs) || runs.length === 0)
      throw new InputError(
        `${dir.file(RESULTS_FILES.phases)} holds no phase run`,
        "the run stopped before its first phase ended: nothing to price",
      );
    stored = await d.reprice(dir, runs);
  } else {
    stored = dir.readJson<StoredResults>(RESULTS_FILES.resultsJson);
    if (!stored?.priced || !Array.isArray(stored.priced.runs))
      throw new InputError(
        `${dir.file(RESULTS_FILES.resultsJson)} is not the results of \`powerstack experiment run\` (no priced runs)`,
        "price the phases anew with --reprice",
      );
  }
  render(stored, d.show);
  return ExitCode.ok;
}

// ---- the command -----------------------------------------------------------------------------------

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const [action, target] = cmd.args as [string, string];
  const o = cmd.opts<ExperimentFlags>();
  if (o.csv && opts.json) throw new InputError("--csv and --json both asked for", "pick one output format");
  if (action === "run") {
    if (o.reprice)
      throw new InputError(
        "--reprice applies to `experiment report`",
        "drop it: a run always prices its phases",
      );
    if (o.plot !== undefined || o.tz !== undefined)
      throw new InputError(
        "--plot applies to `experiment report`",
        "run, then `powerstack experiment report DIR --plot FILE.svg`",
      );
    return runFromCli(opts, o, target);
  }
  if (action === "report") {
    if (opts.check)
      throw new InputError("--check applies to `experiment run`: `report` only reads", "drop --check");
    if (o.tz !== undefined && o.plot === undefined)
      throw new InputError("--tz without --plot", "add --plot FILE.svg, or leave --tz out");
    const code = await reportFromCli(opts, o, target);
    if (o.plot !== undefined) await plotReport(opts, o, target, o.plot);
    return code;
  }
  throw new InputError(
    `unknown action \`${action}\` for \`powerstack experiment\``,
    "use `powerstack experiment run PLAN` or `powerstack experiment report DIR`",
  );
}

/** Prometheus' URL as shown and stored: without user and password. */
function shownUrl(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString().replace(/\/+$/, "");
}

async function runFromCli(opts: GlobalOptions, o: ExperimentFlags, file: string): Promise<number> {
  // --check needs no secret: the vault is opened only to connect.
  const ctx = await openRun("experiment", opts, { needVault: !opts.check });
  try {
    const prepared = preparePlan(file, ctx.inventory);
    const show: Presentation = { out: ctx.out, json: opts.json, csv: Boolean(o.csv) };
    if (opts.check) return printCheck(prepared, show);
    // Settings (and their errors) before the run, not after an hour of it.
    const settings = resolveSettings(opts.inventory, o);
    const client = new PrometheusClient(settings.prometheusUrl);
    const control = ctx.inventory.nodes.find((n) => n.role === "control")!.name;
    const outcome = await runCommand({
      ...prepared,
      connect: () => connectCluster(ctx),
      control,
      resultsRoot: o.results,
      timing: { marginSec: DEFAULT_MARGIN_SEC },
      show,
      log: (event, data) => ctx.log.write(event, data),
      redact: (v) => ctx.redactor.redactValue(v),
      prometheus: shownUrl(client.url),
      price: async (runs, signal) => {
        await waitForLastScrape(runs, settings.scrapeIntervalMs, ctx.out, signal);
        return pricePhases(client, settings, runs, prepared.plan, { nowMs: Date.now() });
      },
    });
    return outcome.code;
  } finally {
    ctx.close();
  }
}

/** The plan, checked against the inventory, and the objects it makes (the run's margin is the Jobs' deadline's). */
export function preparePlan(file: string, inventory: Inventory): PreparedPlan {
  const plan = loadPlan(file, inventory);
  const opts = { marginSec: DEFAULT_MARGIN_SEC };
  return {
    plan,
    namespace: namespaceManifest(plan),
    jobs: (phase, repetition) => jobsForPhase(plan, phase, repetition, opts),
    ...(plan.background && { backgroundJobs: () => backgroundJobs(plan, opts) }),
  };
}

/**
 * What pricing needs of the plan, from the results directory alone (no inventory: the cluster may have
 * changed since): its name and namespace from plan.yaml, the phases as they ran (phases.json, ramp steps
 * included), and which of them are idle (their baseline is subtracted).
 */
export function planForPricing(dir: ResultsDir, runs: PhaseRun[]): PricePlan & { name: string } {
  let raw: {
    name?: unknown;
    namespace?: unknown;
    phases?: Array<{ name?: unknown; workload?: { kind?: unknown } }>;
  };
  try {
    raw = (parseYaml(dir.read(RESULTS_FILES.plan)) ?? {}) as typeof raw;
  } catch (err) {
    throw new InputError(
      `${dir.file(RESULTS_FILES.plan)} is not valid YAML: ${(err as Error).message}`,
      "was it edited by hand?",
    );
  }
  const idle = new Set(
    (Array.isArray(raw.phases) ? raw.phases : [])
      .filter((p) => p?.workload?.kind === "idle")
      .map((p) => String(p.name)),
  );
  const names = [...new Set(runs.map((r) => r.phase))];
  return {
    name: typeof raw.name === "string" ? raw.name : "experiment",
    namespace: typeof raw.namespace === "string" ? raw.namespace : DEFAULT_NAMESPACE,
    // Only `idle` matters to pricing; the other kinds are priced alike.
    phases: names.map((name) => ({
      name,
      workload: idle.has(name) ? { kind: "idle" } : { kind: "command", image: "" },
    })),
  };
}

/** The last phase's end must be in Prometheus: one scrape interval and a half after it (as `measure` waits). */
async function waitForLastScrape(runs: PhaseRun[], intervalMs: number, out: Output, signal: AbortSignal) {
  if (runs.length === 0) return;
  const waitMs = Math.max(...runs.map((r) => r.endMs)) + intervalMs * 1.5 - Date.now();
  if (waitMs <= 0) return;
  out.error(`waiting ${humanDuration(waitMs)} for Prometheus to scrape the end of the last phase`);
  await sleep(waitMs, signal);
}

async function reportFromCli(opts: GlobalOptions, o: ExperimentFlags, path: string): Promise<number> {
  // `report` opens no run context (it may run offline, without inventory or vault): its own run log.
  const log = new RunLog(opts.logDir, "experiment", new Redactor());
  log.write("start", { command: "experiment report", dir: path, reprice: Boolean(o.reprice) });
  try {
    const show = presentation(opts.json, Boolean(o.csv));
    return await reportCommand({
      dir: path,
      show,
      reprice: o.reprice
        ? async (dir, runs) => {
            const settings = resolveSettings(opts.inventory, o);
            const client = new PrometheusClient(settings.prometheusUrl);
            const plan = planForPricing(dir, runs);
            const priced = await pricePhases(client, settings, runs, plan, { nowMs: Date.now() });
            // The directory's results.json stays as the run wrote it: a repricing is printed, not stored.
            const stored: StoredResults = { experiment: plan.name, prometheus: shownUrl(client.url), priced };
            return JSON.parse(JSON.stringify(stored)) as StoredResults;
          }
        : undefined,
    });
  } finally {
    log.write("end");
    log.close();
  }
}

/**
 * `experiment report DIR --plot FILE`: the experiment's whole window (first phase start to last phase end)
 * drawn from Prometheus like `energy --plot`, each phase run a labelled band. The plot modules load only
 * when asked for (ECharts is large).
 */
async function plotReport(
  opts: GlobalOptions,
  o: ExperimentFlags,
  path: string,
  file: string,
): Promise<void> {
  const [{ plotExperiment, plotFormat }, { resolveTimeZone }] = await Promise.all([
    import("../plot/plot-file.js"),
    import("../plot/time-zone.js"),
  ]);
  plotFormat(file);
  const timeZone = resolveTimeZone(o.tz);
  const dir = ResultsDir.open(path);
  const runs = dir.readJson<PhaseRun[]>(RESULTS_FILES.phases);
  if (!Array.isArray(runs) || runs.length === 0)
    throw new InputError(
      `${dir.file(RESULTS_FILES.phases)} holds no phase run`,
      "nothing ran: there is nothing to plot",
    );
  const settings = resolveSettings(opts.inventory, o);
  const client = new PrometheusClient(settings.prometheusUrl);
  const plan = planForPricing(dir, runs);
  await plotExperiment(client, {
    window: { fromMs: Math.min(...runs.map((r) => r.startMs)), toMs: Math.max(...runs.map((r) => r.endMs)) },
    phases: runs.map((r) => ({ label: `${r.phase} #${r.repetition}`, startMs: r.startMs, endMs: r.endMs })),
    by: "node",
    line: settings.line,
    flavourSource: settings.flavourSource,
    scrapeIntervalMs: settings.scrapeIntervalMs,
    file,
    timeZone,
    title: `Experiment ${plan.name}: power by node`,
  });
  const out = new Output(new Redactor(), opts.json);
  if (opts.json) out.object({ type: "plot", file });
  else out.info(`plot: ${file}`);
}

/** For tests of the report without a terminal: an Output on given streams. */
export function presentation(json: boolean, csv: boolean): Presentation {
  return { out: new Output(new Redactor(), json), json, csv };
}
