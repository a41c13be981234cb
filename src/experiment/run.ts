/**
 * Running an experiment: its namespace, then for each repetition each phase in order (settle, create its
 * Jobs, wait until they completed, read when their pods really ran, delete them), with the background
 * load (if any) running from before the first phase until after the last. Everything goes through the
 * Cluster boundary (kubectl on the control node).
 *
 * The namespace is deleted in `finally`: after success, after a failure and after Ctrl-C/SIGTERM (the
 * caller turns the first signal into `signal`, see src/cli/interrupts.ts), so an experiment leaves nothing
 * behind. A namespace that already existed is never ours: the run refuses to start rather than delete it.
 *
 * Why `kubectl create` and not `apply`: a Job left over from an earlier run would be taken as this run's
 * (apply finds it complete and changes nothing), and its old times would be recorded as this phase's.
 */
import { stringify } from "yaml";
import type { Cluster } from "../cluster/cluster.js";
import { PowerstackError } from "../errors.js";
import { manifestStream, type KubeObject } from "../modules/kube-apply.js";
import { items, kubectl, type ContainerStatus, type Job, type Pod } from "./cluster-read.js";
import type { ExperimentPlan, Phase, PhaseRun } from "./types.js";

/** Every Job of a run and its pods carry this label: which step (phase run) of the run they belong to. */
export const STEP_LABEL = "powerstack.io/step";
export const BACKGROUND_STEP = "background";

export interface Timing {
  /** Between two reads of a phase's Jobs and pods. */
  pollMs: number;
  /** A phase may take this much longer than its duration (image pulls, scheduling) before it fails. */
  marginSec: number;
  /** Overrides the plan's settle time (tests). */
  settleMs?: number;
  /** kubectl's own bound on deleting a phase's Jobs or the namespace. */
  deleteTimeoutSec: number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const DEFAULT_TIMING: Timing = {
  pollMs: 2_000,
  marginSec: 300,
  deleteTimeoutSec: 180,
  sleep,
};

export interface RunEvent {
  event: string;
  phase?: string;
  repetition?: number;
  [field: string]: unknown;
}

export interface RunExperimentOptions {
  cluster: Cluster;
  /** The control node's name, for errors. */
  control: string;
  plan: ExperimentPlan;
  /** The namespace object (workloads.ts namespaceManifest). */
  namespace: KubeObject;
  /** The Jobs of one phase in one repetition (workloads.ts jobsForPhase); none for a phase that runs nothing. */
  jobs(phase: Phase, repetition: number): KubeObject[];
  /** The background load's Jobs, when the plan has one. */
  backgroundJobs?(): KubeObject[];
  /** A line for the user and a record for the logs. */
  report(line: string, event: RunEvent): void;
  /** Told of every phase run as soon as it is known (so a later failure keeps what was measured). */
  onPhase?(run: PhaseRun): void;
  /** Aborted on the first Ctrl-C/SIGTERM: no new step starts, clean-up runs. */
  signal?: AbortSignal;
  timing?: Partial<Timing>;
}

/** The run was stopped by a signal; clean-up has run. */
export class Interrupted extends PowerstackError {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** A phase's workload failed or did not finish in time; the message names the pods. */
export class PhaseFailed extends PowerstackError {}

/** A timer that ends early, rejecting with the abort's reason, when the signal is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Throws the abort's reason (an Interrupted, as the caller makes it) once the signal is aborted. */
function stopIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason;
}

/** The plan's Jobs for one step, labelled so the step's Jobs and pods are listed and deleted together. */
export function labelled(objects: KubeObject[], step: string): KubeObject[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    copy.metadata.labels = { ...copy.metadata.labels, [STEP_LABEL]: step };
    const template = (
      copy.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined
    )?.template;
    if (template)
      template.metadata = {
        ...template.metadata,
        labels: { ...template.metadata?.labels, [STEP_LABEL]: step },
      };
    return copy;
  });
}

const isJob = (o: KubeObject) => o.kind === "Job";

/** Every Job `experiment run` would create, in order, for `--check`. */
export function plannedJobs(
  plan: ExperimentPlan,
  jobs: RunExperimentOptions["jobs"],
  backgroundJobs?: RunExperimentOptions["backgroundJobs"],
): Array<{ phase: string; repetition?: number; objects: KubeObject[] }> {
  const out: Array<{ phase: string; repetition?: number; objects: KubeObject[] }> = [];
  if (backgroundJobs)
    out.push({ phase: BACKGROUND_STEP, objects: labelled(backgroundJobs(), BACKGROUND_STEP) });
  let step = 0;
  for (let rep = 1; rep <= plan.repetitions; rep++)
    for (const phase of plan.phases)
      out.push({ phase: phase.name, repetition: rep, objects: labelled(jobs(phase, rep), String(++step)) });
  return out;
}

export async function runExperiment(o: RunExperimentOptions): Promise<PhaseRun[]> {
  const t: Timing = { ...DEFAULT_TIMING, ...o.timing };
  const { plan, signal } = o;
  const ns = plan.namespace;
  const k = (args: string[], opts?: { stdin?: string; timeoutSec?: number }) =>
    kubectl(o.cluster, o.control, args, opts);
  const runs: PhaseRun[] = [];
  let created = false;
  let failure: unknown;
  try {
    stopIfAborted(signal);
    await createNamespace(o, k);
    created = true;
    o.report(`namespace ${ns} created`, { event: "namespace-created", namespace: ns });

    if (o.backgroundJobs) {
      const jobs = labelled(o.backgroundJobs(), BACKGROUND_STEP);
      await createJobs(k, jobs, "the background load");
      await waitRunning(o, t, k, jobs.filter(isJob));
      o.report(`background load running (${jobs.map((j) => j.metadata.name).join(", ")})`, {
        event: "background-running",
        jobs: jobs.map((j) => j.metadata.name),
      });
    }

    let step = 0;
    for (let rep = 1; rep <= plan.repetitions; rep++) {
      for (const phase of plan.phases) {
        step++;
        const label = `phase ${phase.name} (repetition ${rep}/${plan.repetitions})`;
        const settleMs = t.settleMs ?? plan.settleSec * 1000;
        if (settleMs > 0) {
          o.report(`${label}: settling ${settleMs / 1000} s`, {
            event: "settle",
            phase: phase.name,
            repetition: rep,
          });
          await t.sleep(settleMs, signal);
        }
        stopIfAborted(signal);
        const run = await runPhase(o, t, k, phase, rep, String(step), label);
        runs.push(run);
        o.onPhase?.(run);
        if (o.backgroundJobs) await checkBackground(o, k);
      }
    }

    if (o.backgroundJobs) {
      await deleteStep(k, t, BACKGROUND_STEP, ns);
      o.report("background load deleted", { event: "background-deleted" });
    }
    return runs;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    if (created) await cleanUp(o, t, k, failure);
  }
}

type Kubectl = (args: string[], opts?: { stdin?: string; timeoutSec?: number }) => Promise<string>;

async function createNamespace(o: RunExperimentOptions, k: Kubectl): Promise<void> {
  const ns = o.plan.namespace;
  try {
    await k(["create", "-f", "-", "-o", "name"], { stdin: stringify(o.namespace) });
  } catch (err) {
    if (err instanceof PowerstackError && /AlreadyExists|already exists/.test(err.message))
      throw new PowerstackError(
        `namespace ${ns} already exists: an experiment runs in a namespace of its own, which it deletes at the end`,
        undefined,
        `if it is left over from an interrupted experiment, delete it (\`kubectl delete namespace ${ns}\`); otherwise set another \`namespace:\` in ${o.plan.file}`,
      );
    throw err;
  }
}

async function createJobs(k: Kubectl, jobs: KubeObject[], what: string): Promise<void> {
  try {
    await k(["create", "-f", "-", "-o", "name"], { stdin: manifestStream(jobs) });
  } catch (err) {
    if (err instanceof PowerstackError)
      throw new PowerstackError(`creating the Jobs of ${what}: ${err.message}`, err.exitCode, err.fix);
    throw err;
  }
}

async function runPhase(
  o: RunExperimentOptions,
  t: Timing,
  k: Kubectl,
  phase: Phase,
  rep: number,
  step: string,
  label: string,
): Promise<PhaseRun> {
  const ns = o.plan.namespace;
  // A network phase adds a Service beside its Jobs: created with them, but only Jobs complete.
  const objects = labelled(o.jobs(phase, rep), step);
  const names = objects.filter(isJob).map((j) => j.metadata.name);
  let window: { startMs: number; endMs: number };
  if (objects.length === 0) {
    o.report(`${label}: nothing runs for ${phase.durationSec} s`, {
      event: "phase-start",
      phase: phase.name,
      repetition: rep,
    });
    window = await markedWindow(k, t, ns, step, phase.durationSec, label, o.signal);
  } else {
    await createJobs(k, objects, label);
    o.report(`${label}: ${names.length} Job(s) created: ${names.join(", ")}`, {
      event: "phase-start",
      phase: phase.name,
      repetition: rep,
      jobs: names,
    });
    const pods = await waitComplete(o, t, k, step, names, phase, label);
    window = podsWindow(pods, label);
    await deleteStep(k, t, step, ns);
  }
  const run: PhaseRun = { phase: phase.name, repetition: rep, nodes: phase.nodes, ...window, jobs: names };
  o.report(
    `${label}: ran ${new Date(run.startMs).toISOString()} to ${new Date(run.endMs).toISOString()} (${((run.endMs - run.startMs) / 1000).toFixed(0)} s)`,
    {
      event: "phase-done",
      phase: phase.name,
      repetition: rep,
      startMs: run.startMs,
      endMs: run.endMs,
      jobs: names,
    },
  );
  return run;
}

async function list(k: Kubectl, ns: string, step: string): Promise<{ jobs: Job[]; pods: Pod[] }> {
  const args = ["get", "jobs,pods", "-n", ns, "-l", `${STEP_LABEL}=${step}`, "-o", "json"];
  const all = items<Job | Pod>(await k(args), `kubectl ${args.join(" ")}`);
  return {
    jobs: all.filter((x): x is Job => x.kind === "Job"),
    pods: all.filter((x): x is Pod => x.kind === "Pod"),
  };
}

/** Waiting reasons from which a container does not recover by itself: the phase fails at once. */
const HOPELESS_WAITING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "CrashLoopBackOff",
]);

const where = (p: Pod) => `pod ${p.metadata.name} on node ${p.spec?.nodeName ?? "(not scheduled)"}`;

function containerText(c: ContainerStatus): string {
  const term = c.state?.terminated;
  if (term)
    return `${term.reason ?? "terminated"} (container ${c.name}, exit code ${term.exitCode ?? "?"})${term.message ? `: ${term.message.trim()}` : ""}`;
  const wait = c.state?.waiting;
  if (wait)
    return `${wait.reason ?? "waiting"} (container ${c.name})${wait.message ? `: ${wait.message.trim()}` : ""}`;
  return `container ${c.name} running`;
}

/** Why this pod failed, or undefined while it has not (yet). */
export function podFailure(p: Pod): string | undefined {
  const s = p.status ?? {};
  const containers = s.containerStatuses ?? [];
  if (s.phase === "Failed") {
    // An evicted pod has its reason on the pod (Evicted: "The node was low on resource: memory");
    // a container that exited non-zero has it on the container (Error, OOMKilled, exit code).
    const own = s.reason ? `${s.reason}${s.message ? `: ${s.message.trim()}` : ""}` : undefined;
    const failed = containers.find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);
    return [own, failed && containerText(failed)].filter(Boolean).join("; ") || "Failed (no reason given)";
  }
  const stuck = containers.find((c) => HOPELESS_WAITING.has(c.state?.waiting?.reason ?? ""));
  return stuck && containerText(stuck);
}

/** Where a pod stands, for a timeout's message. */
function podState(p: Pod): string {
  const s = p.status ?? {};
  const unscheduled = s.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  const detail = unscheduled
    ? `${unscheduled.reason ?? "unschedulable"}: ${unscheduled.message ?? ""}`.trim()
    : (s.containerStatuses ?? []).map(containerText).join(", ");
  return `${where(p)}: ${s.phase ?? "unknown"}${detail ? ` (${detail})` : ""}`;
}

function jobDone(j: Job): boolean {
  const complete = j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True");
  return Boolean(complete) || (j.status?.succeeded ?? 0) >= (j.spec?.completions ?? 1);
}

function jobFailure(j: Job): string | undefined {
  const failed = j.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  return (
    failed &&
    `Job ${j.metadata.name} failed: ${failed.reason ?? ""}${failed.message ? `: ${failed.message}` : ""}`
  );
}

/** Polls until every Job completed; fails at the first failed pod or Job, or when the bound is reached. */
async function waitComplete(
  o: RunExperimentOptions,
  t: Timing,
  k: Kubectl,
  step: string,
  names: string[],
  phase: Phase,
  label: string,
): Promise<Pod[]> {
  const ns = o.plan.namespace;
  const durationSec = phase.durationSec;
  const deadline = Date.now() + (durationSec + t.marginSec) * 1000;
  for (;;) {
    stopIfAborted(o.signal);
    const { jobs, pods } = await list(k, ns, step);
    for (const p of pods) {
      const why = podFailure(p);
      if (why)
        throw new PhaseFailed(
          `${label}: ${where(p)} failed: ${why}`,
          undefined,
          `see \`kubectl describe pod ${p.metadata.name} -n ${ns}\` while it exists (the experiment deletes its namespace at the end); then fix phase ${phase.name}${phase.at ? ` (${phase.at})` : ""} of the plan, or the node, and rerun`,
        );
    }
    for (const j of jobs) {
      const why = jobFailure(j);
      if (why) throw new PhaseFailed(`${label}: ${why}`, undefined, "fix the phase in the plan and rerun");
    }
    const done = names.filter((n) => jobs.some((j) => j.metadata.name === n && jobDone(j)));
    if (done.length === names.length) return pods.filter((p) => p.status?.phase === "Succeeded");
    if (Date.now() >= deadline)
      throw new PhaseFailed(
        `${label}: not finished ${durationSec + t.marginSec} s after its Jobs were created (${durationSec} s of work + ${t.marginSec} s margin); ${names.length - done.length} of ${names.length} Job(s) still running${pods.length ? `:\n    ${pods.map(podState).join("\n    ")}` : ", and no pod exists"}`,
        undefined,
        "a node without room for the phase's requests, or an image that takes long to pull: `kubectl describe pod` names the reason",
      );
    await t.sleep(t.pollMs, o.signal);
  }
}

/** The background's pods must be running (started) before the first phase, or the phase misses its load. */
async function waitRunning(
  o: RunExperimentOptions,
  t: Timing,
  k: Kubectl,
  jobs: KubeObject[],
): Promise<void> {
  const ns = o.plan.namespace;
  const deadline = Date.now() + t.marginSec * 1000;
  for (;;) {
    stopIfAborted(o.signal);
    const { pods } = await list(k, ns, BACKGROUND_STEP);
    for (const p of pods) {
      const why = podFailure(p) ?? (p.status?.phase === "Succeeded" ? "it already finished" : undefined);
      if (why)
        throw new PhaseFailed(
          `the background load: ${where(p)} failed: ${why}`,
          undefined,
          "fix `background:` in the plan and rerun",
        );
    }
    const running = pods.filter((p) => p.status?.phase === "Running");
    if (running.length >= jobs.length && running.length > 0) return;
    if (Date.now() >= deadline)
      throw new PhaseFailed(
        `the background load did not start within ${t.marginSec} s${pods.length ? `:\n    ${pods.map(podState).join("\n    ")}` : ": no pod exists"}`,
      );
    await t.sleep(t.pollMs, o.signal);
  }
}

/** A background pod that ended (failed, or finished early) means later phases ran without their load. */
async function checkBackground(o: RunExperimentOptions, k: Kubectl): Promise<void> {
  const { pods } = await list(k, o.plan.namespace, BACKGROUND_STEP);
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === "Running" || phase === "Pending") continue;
    throw new PhaseFailed(
      `the background load stopped: ${where(p)} is ${phase}${podFailure(p) ? `: ${podFailure(p)}` : ""}; the phases after it would run without it`,
      undefined,
      "give the background workload a duration longer than the whole experiment (or none), and rerun",
    );
  }
}

const parseTime = (s: string | undefined): number => (s ? Date.parse(s) : NaN);

/**
 * When the phase's load really ran, on the cluster's clock (the kubelets' container start and finish
 * times), never ours: our clock measures SSH and polling delays too.
 *
 * The window is the time during which ALL of the phase's pods were running: it starts at the latest
 * start and ends at the earliest finish. Outside it the phase's load is only partly there (one node still
 * pulling its image, another already done), and pricing such a tail would blur the phase.
 *
 * The kubelet reports whole seconds (metav1.Time drops the fraction), so a container that started at
 * 12:00:00.700 shows 12:00:00: the start is moved one second on, so that the window never holds time
 * before the load began. A finish time shown as 12:05:00 is at or before the real finish: kept as is.
 *
 * Each time is the clock of the node its pod ran on, and Prometheus stamps samples with its own: the
 * nodes' clocks must agree (NTP), or the windows shift against the series they price.
 */
export function podsWindow(pods: Pod[], label: string): { startMs: number; endMs: number } {
  const spans = pods.map((p) => {
    const terminated = (p.status?.containerStatuses ?? []).map((c) => c.state?.terminated);
    const starts = terminated.map((x) => parseTime(x?.startedAt));
    const ends = terminated.map((x) => parseTime(x?.finishedAt));
    if (terminated.length === 0 || [...starts, ...ends].some(Number.isNaN))
      throw new PhaseFailed(
        `${label}: ${where(p)} succeeded but its status has no container start/finish times`,
        undefined,
        "this is unexpected from a kubelet; run `kubectl get pod -o yaml` on a completed Job's pod and report it",
      );
    return { pod: p, startMs: Math.max(...starts), endMs: Math.min(...ends) };
  });
  if (spans.length === 0)
    throw new PhaseFailed(`${label}: its Jobs completed but no pod of theirs is left to read`);
  const latest = spans.reduce((a, b) => (b.startMs > a.startMs ? b : a));
  const earliest = spans.reduce((a, b) => (b.endMs < a.endMs ? b : a));
  const startMs = latest.startMs + 1000;
  const endMs = earliest.endMs;
  if (endMs <= startMs)
    throw new PhaseFailed(
      `${label}: its pods did not run at the same time: ${latest.pod.metadata.name} started at ${new Date(latest.startMs).toISOString()}, ${earliest.pod.metadata.name} had already finished at ${new Date(earliest.endMs).toISOString()}`,
      undefined,
      "one node was slow to start its pod (image pull?): pre-pull the images or lengthen the phase, and rerun",
    );
  return { startMs, endMs };
}

/**
 * A phase with no Job (idle) still needs its window on the cluster's clock: a ConfigMap created at its
 * start and one at its end carry the API server's creationTimestamp (whole seconds, as above).
 */
async function markedWindow(
  k: Kubectl,
  t: Timing,
  ns: string,
  step: string,
  durationSec: number,
  label: string,
  signal?: AbortSignal,
): Promise<{ startMs: number; endMs: number }> {
  const mark = async (which: string) => {
    const args = ["create", "configmap", `step-${step}-${which}`, "-n", ns, "-o", "json"];
    const out = await k(args);
    const at = parseTime(JSON.parse(out)?.metadata?.creationTimestamp as string | undefined);
    if (Number.isNaN(at))
      throw new PowerstackError(`\`kubectl ${args.join(" ")}\` printed no creationTimestamp`);
    return at;
  };
  const start = await mark("start");
  await t.sleep(durationSec * 1000, signal);
  const end = await mark("end");
  if (end <= start + 1000)
    throw new PowerstackError(
      `${label}: the API server's clock moved ${(end - start) / 1000} s during a ${durationSec} s phase`,
      undefined,
      "check the control node's clock (`timedatectl`): the phase windows are read from it",
    );
  return { startMs: start + 1000, endMs: end };
}

async function deleteStep(k: Kubectl, t: Timing, step: string, ns: string): Promise<void> {
  // Foreground: the Jobs are gone only once their pods are, so the next phase starts on quiet nodes.
  // Services too (a network phase's iperf3 server is found through one).
  await k(
    [
      "delete",
      "jobs,services",
      "-n",
      ns,
      "-l",
      `${STEP_LABEL}=${step}`,
      "--cascade=foreground",
      "--wait=true",
      `--timeout=${t.deleteTimeoutSec}s`,
    ],
    { timeoutSec: t.deleteTimeoutSec + 30 },
  );
}

/**
 * Deletes the namespace (and with it every Job, pod and marker) and waits until it is gone. Runs with no
 * abort signal: after Ctrl-C this is exactly what must still happen (a second Ctrl-C exits at once).
 * A clean-up failure after another failure is told, not thrown: the first failure is the news.
 */
async function cleanUp(o: RunExperimentOptions, t: Timing, k: Kubectl, failure: unknown): Promise<void> {
  const ns = o.plan.namespace;
  o.report(`deleting namespace ${ns} and everything in it`, { event: "cleanup", namespace: ns });
  try {
    await k(
      ["delete", "namespace", ns, "--ignore-not-found", "--wait=true", `--timeout=${t.deleteTimeoutSec}s`],
      {
        timeoutSec: t.deleteTimeoutSec + 30,
      },
    );
    const left = await k(["get", "namespace", ns, "--ignore-not-found", "-o", "name"]);
    if (left.trim()) throw new PowerstackError(`namespace ${ns} still exists after ${t.deleteTimeoutSec} s`);
    o.report(`namespace ${ns} deleted`, { event: "cleanup-done", namespace: ns });
  } catch (err) {
    const fix = `delete it yourself: \`kubectl delete namespace ${ns}\` on the control node`;
    const message = `cleaning up failed: ${err instanceof Error ? err.message : String(err)}`;
    if (failure !== undefined) {
      o.report(`${message}; ${fix}`, { event: "cleanup-failed", namespace: ns, error: message });
      return;
    }
    throw new PowerstackError(message, undefined, fix);
  }
}
