/**
 * Boundary tests of `powerstack experiment run` (no Kubernetes API can run here): a fake Cluster that
 * models the Job lifecycle the way the API server reports it through `kubectl ... -o json` (pods Pending,
 * then Running, then Succeeded, their container start and finish times set by the FAKE CLUSTER'S clock,
 * which is years away from the test's), so a window that matches those times can only have come from the
 * pods' status. What it does not model (and a real cluster must prove): scheduling, image pulls, the
 * kubelet's real timestamps, foreground deletion's real wait, namespace finalizers.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Cluster, ClusterCallOptions, CommandResult } from "../../src/cluster/cluster.js";
import type { KubeObject } from "../../src/modules/kube-apply.js";
import {
  Interrupted,
  PhaseFailed,
  podFailure,
  runExperiment,
  STEP_LABEL,
  type RunEvent,
  type RunExperimentOptions,
} from "../../src/experiment/run.js";
import type { PricedExperiment } from "../../src/experiment/price.js";
import type { ExperimentPlan, Phase, PhaseRun } from "../../src/experiment/types.js";
import { main } from "../../src/cli/main.js";
import { parseInventory } from "../../src/inventory/load.js";
import { MINIMAL_INVENTORY } from "../support/minimal-inventory.js";
import {
  planForPricing,
  preparePlan,
  printCheck,
  reportCommand,
  runCommand,
  type Presentation,
  type RunCommandDeps,
} from "../../src/cli/experiment.js";
import { Output } from "../../src/ui/output.js";
import { Redactor } from "../../src/ui/redact.js";

// ---- the fake cluster -----------------------------------------------------------------------------

/** The fake cluster's clock starts here: nowhere near the test's own clock. */
const CLUSTER_EPOCH = Date.parse("2031-03-04T10:00:00Z");
/** Every kubectl call moves the cluster's clock on by this much (the time a call takes, roughly). */
const TICK_MS = 1_000;

interface FakePod {
  name: string;
  namespace: string;
  job: string;
  node: string;
  labels: Record<string, string>;
  /** 0 Pending, 1 Running, 2 done. */
  stage: number;
  /** Its position among the pods of its step: staggers start and finish times. */
  index: number;
  startedAt?: string;
  finishedAt?: string;
  failure?: { reason: string; message: string };
}

interface FakeJob {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

/** Whole seconds, as metav1.Time marshals them. */
const k8sTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string): CommandResult => ({ code: 1, stdout: "", stderr });

class FakeCluster implements Cluster {
  clock = CLUSTER_EPOCH;
  readonly calls: string[][] = [];
  readonly namespaces = new Set<string>();
  readonly jobs = new Map<string, FakeJob>();
  readonly pods = new Map<string, FakePod>();
  /** Every pod ever created, with the times the fake gave it (for the expected windows). */
  readonly history: FakePod[] = [];
  /** Pods whose Job name matches fail instead of running: evicted on their node. */
  failing?: RegExp;
  /** Called before each kubectl call (a test aborts the run here). */
  onCall?: (args: string[]) => void;
  private seq = 0;

  constructor(readonly nodes = ["ctl", "w1", "w2"]) {}

  /** The run's waits (settle, an idle phase's duration) pass on the cluster's clock, and take a few ms here. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.clock += ms;
    return quick(ms, signal);
  };

  async helm(args: string[]): Promise<CommandResult> {
    this.calls.push(["helm", ...args]);
    return ok(
      JSON.stringify([
        { name: "kepler", namespace: "kepler", chart: "kepler-0.5.9", app_version: "release-0.7.11" },
        {
          name: "kube-prometheus-stack",
          namespace: "monitoring",
          chart: "kube-prometheus-stack-66.3.1",
          app_version: "v0.78.2",
        },
      ]),
    );
  }

  async kubectl(args: string[], opts: ClusterCallOptions = {}): Promise<CommandResult> {
    this.onCall?.(args);
    this.calls.push(args);
    this.clock += TICK_MS;
    const ns = args.includes("-n") ? args[args.indexOf("-n") + 1]! : undefined;
    const label = args.includes("-l") ? args[args.indexOf("-l") + 1]!.split("=") : undefined;
    const [verb, what] = args;
    if (verb === "version") return ok(JSON.stringify({ serverVersion: { gitVersion: "v1.31.4+k3s1" } }));
    if (verb === "get" && what === "nodes")
      return ok(JSON.stringify({ kind: "List", items: this.nodes.map(node) }));
    if (verb === "create" && what === "-f") return this.create(opts.stdin ?? "");
    if (verb === "create" && what === "configmap")
      return ok(JSON.stringify({ metadata: { name: args[2], creationTimestamp: k8sTime(this.clock) } }));
    if (verb === "get" && what === "jobs,pods") return ok(JSON.stringify(this.list(ns!, label!)));
    if (verb === "delete" && what === "jobs,services") {
      for (const [k, j] of this.jobs)
        if (j.namespace === ns && j.labels[label![0]!] === label![1]) this.jobs.delete(k);
      for (const [k, p] of this.pods)
        if (p.namespace === ns && p.labels[label![0]!] === label![1]) this.pods.delete(k);
      return ok();
    }
    if (verb === "delete" && what === "namespace") {
      const name = args[2]!;
      this.namespaces.delete(name);
      for (const [k, j] of this.jobs) if (j.namespace === name) this.jobs.delete(k);
      for (const [k, p] of this.pods) if (p.namespace === name) this.pods.delete(k);
      return ok();
    }
    if (verb === "get" && what === "namespace")
      return ok(this.namespaces.has(args[2]!) ? `namespace/${args[2]}\n` : "");
    return fail(`fake cluster: unexpected kubectl ${args.join(" ")}`);
  }

  private create(stdin: string): CommandResult {
    const objects = parseAllDocuments(stdin).map((d) => d.toJS() as KubeObject);
    const names: string[] = [];
    for (const o of objects) {
      if (o.kind === "Namespace") {
        if (this.namespaces.has(o.metadata.name))
          return fail(`Error from server (AlreadyExists): namespaces "${o.metadata.name}" already exists`);
        this.namespaces.add(o.metadata.name);
        names.push(`namespace/${o.metadata.name}`);
        continue;
      }
      if (o.kind === "Service") {
        names.push(`service/${o.metadata.name}`);
        continue;
      }
      if (o.kind !== "Job") return fail(`fake cluster: cannot create ${o.kind}`);
      const namespace = o.metadata.namespace!;
      if (!this.namespaces.has(namespace))
        return fail(`Error from server (NotFound): namespaces "${namespace}" not found`);
      const template = (
        o.spec as {
          template: { metadata?: { labels?: Record<string, string> }; spec: { nodeName?: string } };
        }
      ).template;
      const labels = template.metadata?.labels ?? {};
      this.jobs.set(`${namespace}/${o.metadata.name}`, {
        name: o.metadata.name,
        namespace,
        labels: o.metadata.labels ?? {},
      });
      const index = [...this.pods.values()].filter((p) => p.labels[STEP_LABEL] === labels[STEP_LABEL]).length;
      const pod: FakePod = {
        name: `${o.metadata.name}-${(++this.seq).toString(36).padStart(5, "x")}`,
        namespace,
        job: o.metadata.name,
        node: template.spec.nodeName ?? "w1",
        labels: { ...labels, "batch.kubernetes.io/job-name": o.metadata.name },
        stage: 0,
        index,
      };
      this.pods.set(`${namespace}/${pod.name}`, pod);
      this.history.push(pod);
      names.push(`job.batch/${o.metadata.name}`);
    }
    return ok(names.join("\n") + "\n");
  }

  /** Each read moves every pod one stage on: Pending, Running (started), Succeeded (finished). */
  private list(ns: string, [key, value]: string[]) {
    const pods = [...this.pods.values()].filter((p) => p.namespace === ns && p.labels[key!] === value);
    for (const p of pods) {
      if (p.stage === 0) {
        p.stage = 1;
        if (!this.failing?.test(p.job)) p.startedAt = k8sTime(this.clock + p.index * 2_000);
      } else if (p.stage === 1 && p.labels[STEP_LABEL] !== "background") {
        p.stage = 2;
        if (this.failing?.test(p.job))
          p.failure = {
            reason: "Evicted",
            message: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.",
          };
        else p.finishedAt = k8sTime(this.clock + 60_000 + p.index * 3_000);
      }
    }
    const jobs = [...this.jobs.values()].filter((j) => j.namespace === ns && j.labels[key!] === value);
    return {
      kind: "List",
      items: [
        ...jobs.map((j) =>
          jobJson(
            j,
            pods.filter((p) => p.job === j.name),
          ),
        ),
        ...pods.map(podJson),
      ],
    };
  }
}

function node(name: string) {
  return {
    kind: "Node",
    metadata: { name },
    status: {
      capacity: { cpu: "8", memory: "32778468Ki" },
      nodeInfo: {
        kernelVersion: "6.1.0-28-amd64",
        osImage: "Debian GNU/Linux 12 (bookworm)",
        architecture: "amd64",
        kubeletVersion: "v1.31.4+k3s1",
        containerRuntimeVersion: "containerd://1.7.23-k3s2",
      },
    },
  };
}

function jobJson(j: FakeJob, pods: FakePod[]) {
  const succeeded = pods.filter((p) => p.stage === 2 && !p.failure).length;
  const failed = pods.filter((p) => p.failure).length;
  return {
    kind: "Job",
    metadata: { name: j.name, namespace: j.namespace, labels: j.labels },
    spec: { completions: 1, backoffLimit: 0 },
    status: {
      succeeded,
      failed,
      conditions: succeeded >= 1 ? [{ type: "Complete", status: "True" }] : [],
    },
  };
}

function podJson(p: FakePod) {
  const container = p.failure
    ? { name: "load", state: { terminated: { reason: "ContainerStatusUnknown", exitCode: 137 } } }
    : p.stage === 0
      ? { name: "load", state: { waiting: { reason: "ContainerCreating" } } }
      : p.stage === 1
        ? { name: "load", state: { running: { startedAt: p.startedAt } } }
        : {
            name: "load",
            state: {
              terminated: {
                reason: "Completed",
                exitCode: 0,
                startedAt: p.startedAt,
                finishedAt: p.finishedAt,
              },
            },
          };
  return {
    kind: "Pod",
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: { nodeName: p.node },
    status: {
      phase: p.failure ? "Failed" : ["Pending", "Running", "Succeeded"][p.stage],
      ...(p.failure && { reason: p.failure.reason, message: p.failure.message }),
      containerStatuses: [container],
    },
  };
}

// ---- a plan and its Jobs (stand-ins for plan.ts and workloads.ts) ---------------------------------

const PLAN_TEXT = "name: boundary\nnamespace: exp-boundary\nphases: []\n# the exact text, kept\n";

function testPlan(over: Partial<ExperimentPlan> = {}): ExperimentPlan {
  return {
    name: "boundary",
    file: "/srv/plans/boundary.yaml",
    text: PLAN_TEXT,
    namespace: "exp-boundary",
    images: { stressNg: "img/stress-ng@sha256:aa", fio: "img/fio@sha256:bb", iperf3: "img/iperf3@sha256:cc" },
    phases: [
      { name: "idle", workload: { kind: "idle" }, durationSec: 60, nodes: ["w1"] },
      {
        name: "cpu",
        workload: { kind: "cpu", load: 50, workers: 2 },
        durationSec: 60,
        nodes: ["w1", "w2"],
        at: "plan.yaml:9:5",
      },
    ],
    repetitions: 2,
    settleSec: 30,
    ...over,
  };
}

function job(plan: ExperimentPlan, name: string, node: string): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: plan.namespace, labels: { "app.kubernetes.io/managed-by": "powerstack" } },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { "powerstack/experiment": plan.name } },
        spec: {
          nodeName: node,
          restartPolicy: "Never",
          containers: [{ name: "load", image: plan.images.stressNg }],
        },
      },
    },
  };
}

/** The idle phase runs nothing (its window comes from marker objects); the others one Job per node. */
function jobsFor(plan: ExperimentPlan) {
  return (phase: Phase, rep: number) =>
    phase.workload.kind === "idle"
      ? []
      : phase.nodes.map((n) => job(plan, `${plan.name}-${phase.name}-r${rep}-${n}`, n));
}

const namespaceObject = (plan: ExperimentPlan): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: plan.namespace },
});

const FAST = {
  pollMs: 1,
  marginSec: 5,
  settleMs: 1,
  sleep: (ms: number, signal?: AbortSignal) => quick(ms, signal),
};

/** Real timers, but never longer than a few ms (a phase's "duration" included). */
function quick(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    setTimeout(() => (signal?.aborted ? reject(signal.reason) : resolve()), Math.min(ms, 5));
  });
}

function options(cluster: FakeCluster, plan = testPlan(), over: Partial<RunExperimentOptions> = {}) {
  const lines: string[] = [];
  const events: RunEvent[] = [];
  const o: RunExperimentOptions = {
    cluster,
    control: "ctl",
    plan,
    namespace: namespaceObject(plan),
    jobs: jobsFor(plan),
    report: (line, event) => {
      lines.push(line);
      events.push(event);
    },
    timing: { ...FAST, sleep: cluster.sleep },
    ...over,
  };
  return { o, lines, events };
}

const left = (c: FakeCluster) => ({
  namespaces: [...c.namespaces],
  jobs: [...c.jobs.keys()],
  pods: [...c.pods.keys()],
});
const NOTHING_LEFT = { namespaces: [], jobs: [], pods: [] };

// ---- the run --------------------------------------------------------------------------------------

describe("experiment run at the Cluster boundary: the Job lifecycle", () => {
  it("runs every phase of every repetition in order and takes each window from the pods' status (the cluster's clock)", async () => {
    const cluster = new FakeCluster();
    const { o } = options(cluster);
    const testStart = Date.now();
    const runs = await runExperiment(o);

    expect(runs.map((r) => `${r.phase}#${r.repetition}`)).toEqual(["idle#1", "cpu#1", "idle#2", "cpu#2"]);
    for (const r of runs.filter((x) => x.phase === "cpu")) {
      const pods = cluster.history.filter((p) => r.jobs.includes(p.job));
      expect(pods).toHaveLength(2);
      // Latest start (plus the second the kubelet's whole-second times may hide) to the earliest finish.
      expect(r.startMs).toBe(Math.max(...pods.map((p) => Date.parse(p.startedAt!))) + 1000);
      expect(r.endMs).toBe(Math.min(...pods.map((p) => Date.parse(p.finishedAt!))));
      expect(r.nodes).toEqual(["w1", "w2"]);
      expect(r.jobs).toEqual([`boundary-cpu-r${r.repetition}-w1`, `boundary-cpu-r${r.repetition}-w2`]);
    }
    // The cluster's clock, not the test's: 2031, while the test runs now.
    for (const r of runs) {
      expect(r.startMs).toBeGreaterThanOrEqual(CLUSTER_EPOCH);
      expect(Math.abs(r.startMs - testStart)).toBeGreaterThan(365 * 86_400_000);
    }
    // The idle phase ran nothing: its window is between two markers' creation times (API server's clock).
    const idle = runs[0]!;
    expect(idle.jobs).toEqual([]);
    expect(idle.endMs - idle.startMs).toBe(60_000 + TICK_MS - 1000);
    expect(idle.startMs).toBeGreaterThan(CLUSTER_EPOCH);
    expect(left(cluster)).toEqual(NOTHING_LEFT);
  });

  it("sends create (not apply) with the manifests on stdin, polls with the step's label, deletes in the foreground, then the namespace", async () => {
    const cluster = new FakeCluster();
    const plan = testPlan({ repetitions: 1, phases: [testPlan().phases[1]!] });
    await runExperiment(options(cluster, plan).o);
    const kubectl = cluster.calls.filter((c) => c[0] !== "helm");
    expect(kubectl[0]).toEqual(["create", "-f", "-", "-o", "name"]);
    expect(kubectl[1]).toEqual(["create", "-f", "-", "-o", "name"]);
    expect(kubectl[2]).toEqual([
      "get",
      "jobs,pods",
      "-n",
      "exp-boundary",
      "-l",
      `${STEP_LABEL}=1`,
      "-o",
      "json",
    ]);
    expect(kubectl.filter((c) => c[0] === "get" && c[1] === "jobs,pods")).toHaveLength(2);
    expect(kubectl.at(-3)).toEqual([
      "delete",
      "jobs,services",
      "-n",
      "exp-boundary",
      "-l",
      `${STEP_LABEL}=1`,
      "--cascade=foreground",
      "--wait=true",
      "--timeout=180s",
    ]);
    expect(kubectl.at(-2)).toEqual([
      "delete",
      "namespace",
      "exp-boundary",
      "--ignore-not-found",
      "--wait=true",
      "--timeout=180s",
    ]);
    expect(kubectl.at(-1)).toEqual(["get", "namespace", "exp-boundary", "--ignore-not-found", "-o", "name"]);
    expect(kubectl.some((c) => c.includes("apply"))).toBe(false);
  });

  it("starts the background load before the first phase, waits until it runs, and deletes it after the last", async () => {
    const cluster = new FakeCluster();
    const plan = testPlan({
      repetitions: 1,
      background: { name: "bg", workload: { kind: "cpu", load: 10, workers: 1 }, nodes: ["w2"] },
    });
    const { o, events } = options(cluster, plan, { backgroundJobs: () => [job(plan, "boundary-bg", "w2")] });
    await runExperiment(o);
    const order = events.map((e) => e.event);
    expect(order.indexOf("background-running")).toBeLessThan(order.indexOf("phase-start"));
    expect(order.indexOf("background-deleted")).toBeGreaterThan(order.lastIndexOf("phase-done"));
    expect(cluster.calls).toContainEqual([
      "delete",
      "jobs,services",
      "-n",
      "exp-boundary",
      "-l",
      `${STEP_LABEL}=background`,
      "--cascade=foreground",
      "--wait=true",
      "--timeout=180s",
    ]);
    expect(left(cluster)).toEqual(NOTHING_LEFT);
  });

  it("fails the phase at an evicted pod, naming pod, node and reason, and still deletes the namespace", async () => {
    const cluster = new FakeCluster();
    cluster.failing = /cpu-r1-w2/;
    const { o, events } = options(cluster);
    const err = (await runExperiment(o).catch((e: unknown) => e)) as PhaseFailed;
    expect(err).toBeInstanceOf(PhaseFailed);
    const pod = cluster.history.find((p) => p.job === "boundary-cpu-r1-w2")!.name;
    expect(err.message).toBe(
      `phase cpu (repetition 1/2): pod ${pod} on node w2 failed: Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.; ContainerStatusUnknown (container load, exit code 137)`,
    );
    expect(err.fix).toContain("plan.yaml:9:5");
    expect(events.map((e) => e.event)).toContain("cleanup-done");
    expect(left(cluster)).toEqual(NOTHING_LEFT);
  });

  it("refuses a namespace that already exists, and leaves it alone", async () => {
    const cluster = new FakeCluster();
    cluster.namespaces.add("exp-boundary");
    const err = (await runExperiment(options(cluster).o).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      "namespace exp-boundary already exists: an experiment runs in a namespace of its own, which it deletes at the end",
    );
    expect(cluster.namespaces.has("exp-boundary")).toBe(true);
    expect(cluster.calls.some((c) => c[0] === "delete")).toBe(false);
  });

  it("times out a phase whose pods never finish, listing where each pod stands", async () => {
    const cluster = new FakeCluster();
    const plan = testPlan({ repetitions: 1, phases: [{ ...testPlan().phases[1]!, durationSec: 0 }] });
    // Pods that stay Pending: the list never moves them on.
    (cluster as unknown as { list: (ns: string, l: string[]) => unknown }).list = function (
      this: FakeCluster,
      ns: string,
    ) {
      const pods = [...this.pods.values()].filter((p) => p.namespace === ns);
      return { kind: "List", items: pods.map(podJson) };
    };
    const { o } = options(cluster, plan, { timing: { ...FAST, marginSec: 0.02 } });
    const err = (await runExperiment(o).catch((e: unknown) => e)) as PhaseFailed;
    expect(err).toBeInstanceOf(PhaseFailed);
    expect(err.message).toMatch(
      /^phase cpu \(repetition 1\/1\): not finished 0.02 s after its Jobs were created/,
    );
    expect(err.message).toMatch(
      /pod boundary-cpu-r1-w1-\w+ on node w1: Pending \(ContainerCreating \(container load\)\)/,
    );
    expect(left(cluster)).toEqual(NOTHING_LEFT);
  });

  it("on an interrupt starts no new phase, deletes the namespace and leaves no Job", async () => {
    const cluster = new FakeCluster();
    const controller = new AbortController();
    // The signal arrives while the second phase's Jobs are being waited for.
    cluster.onCall = (args) => {
      if (args[1] === "jobs,pods" && cluster.history.length >= 2) controller.abort(new Interrupted("SIGINT"));
    };
    const { o } = options(cluster, testPlan(), { signal: controller.signal, onPhase: () => undefined });
    const err = await runExperiment(o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Interrupted);
    expect(left(cluster)).toEqual(NOTHING_LEFT);
    // Nothing was created after the signal.
    const afterSignal = cluster.calls.slice(cluster.calls.findIndex((c) => c[1] === "jobs,pods") + 1);
    expect(afterSignal.filter((c) => c[0] === "create")).toEqual([]);
    expect(cluster.calls.at(-2)?.slice(0, 3)).toEqual(["delete", "namespace", "exp-boundary"]);
  });
});

// ---- the command: results directory, --check, report ----------------------------------------------

function sink(): NodeJS.WritableStream & { text(): string } {
  const chunks: string[] = [];
  return Object.assign(
    { write: (s: string | Uint8Array) => (chunks.push(String(s)), true) },
    { text: () => chunks.join("") },
  ) as never;
}

function show(json = false, csv = false) {
  const out = sink();
  const err = sink();
  const p: Presentation = { out: new Output(new Redactor(), json, out, err), json, csv };
  return { p, out, err };
}

/** A stand-in for price.ts: joules proportional to each window's length, so the numbers follow the windows. */
async function fakePrice(runs: PhaseRun[]): Promise<PricedExperiment> {
  const priced = runs.map((r) => {
    const s = (r.endMs - r.startMs) / 1000;
    return {
      ...r,
      groups: r.nodes.map((n, i) => ({
        group: "node" as const,
        key: n,
        joules: s * (10 + i),
        watts: 10 + i,
      })),
    };
  });
  return {
    runs: priced,
    summaries: [
      ...new Map(
        priced.flatMap((r) => r.groups.map((g) => [`${r.phase}/${g.key}`, { r, g }] as const)),
      ).values(),
    ].map(({ r, g }) => ({
      phase: r.phase,
      group: g.group,
      key: g.key,
      count: 2,
      meanJ: g.joules,
      stdevJ: NaN,
      meanW: g.watts,
      stdevW: 0,
    })) as PricedExperiment["summaries"],
    notes: ["a note from the stand-in"],
    kepler: "current (detected)",
    figure: "stand-in figure",
  };
}

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});
function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), "powerstack-exp-"));
  roots.push(r);
  return r;
}

function commandDeps(
  cluster: FakeCluster,
  root: string,
  p: Presentation,
  over: Partial<RunCommandDeps> = {},
): RunCommandDeps {
  const plan = testPlan();
  return {
    plan,
    namespace: namespaceObject(plan),
    jobs: jobsFor(plan),
    connect: async () => cluster,
    control: "ctl",
    resultsRoot: join(root, "results"),
    show: p,
    log: () => undefined,
    price: fakePrice,
    prometheus: "http://127.0.0.1:9090",
    timing: { ...FAST, sleep: cluster.sleep },
    now: () => new Date("2026-12-06T05:48:00.123Z"),
    interrupts: { signals: new EventEmitter(), exit: () => undefined },
    ...over,
  };
}

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [
        f,
        createHash("sha256")
          .update(readFileSync(join(dir, f)))
          .digest("hex"),
      ]),
  );
}

describe("experiment run and report at the boundary: the results directory", () => {
  it("records plan, versions, nodes, phases, results and log in a new directory; a second run makes another and leaves the first untouched", async () => {
    const root = tempRoot();
    const first = show();
    const one = await runCommand(commandDeps(new FakeCluster(), root, first.p));
    expect(one.code).toBe(0);
    expect(one.dir).toBe(join(root, "results", "boundary-20261206T054800Z"));
    const dir1 = one.dir!;
    expect(readdirSync(dir1).sort()).toEqual(
      [
        "nodes.json",
        "phases.json",
        "plan.yaml",
        "results.csv",
        "results.json",
        "run.log.jsonl",
        "versions.json",
      ].sort(),
    );
    expect(readFileSync(join(dir1, "plan.yaml"), "utf8")).toBe(PLAN_TEXT);
    const versions = JSON.parse(readFileSync(join(dir1, "versions.json"), "utf8"));
    expect(versions).toMatchObject({
      k3s: "v1.31.4+k3s1",
      kepler: { chart: "kepler", chartVersion: "0.5.9", appVersion: "release-0.7.11" },
      kubePrometheusStack: { chart: "kube-prometheus-stack", chartVersion: "66.3.1", appVersion: "v0.78.2" },
    });
    expect(versions.powerstack).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.parse(readFileSync(join(dir1, "nodes.json"), "utf8"))[1]).toEqual({
      name: "w1",
      kernel: "6.1.0-28-amd64",
      os: "Debian GNU/Linux 12 (bookworm)",
      architecture: "amd64",
      cpu: "8",
      memory: "32778468Ki",
      k3s: "v1.31.4+k3s1",
      containerRuntime: "containerd://1.7.23-k3s2",
    });
    const phases = JSON.parse(readFileSync(join(dir1, "phases.json"), "utf8")) as PhaseRun[];
    expect(phases.map((r) => r.phase)).toEqual(["idle", "cpu", "idle", "cpu"]);
    const log = readFileSync(join(dir1, "run.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).event);
    expect(log[0]).toBe("start");
    expect(log).toContain("phase-done");
    expect(log.at(-1)).toBe("done");
    const before = hashes(dir1);

    const two = await runCommand(commandDeps(new FakeCluster(), root, show().p));
    expect(two.dir).toBe(`${dir1}-2`);
    expect(hashes(dir1)).toEqual(before);
    expect(readdirSync(join(root, "results")).sort()).toEqual([
      "boundary-20261206T054800Z",
      "boundary-20261206T054800Z-2",
    ]);
  });

  it("`experiment report DIR` prints the same table, JSON and CSV as the run, from results.json alone", async () => {
    const root = tempRoot();
    for (const [json, csv] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const ran = show(json, csv);
      const { dir } = await runCommand(commandDeps(new FakeCluster(), root, ran.p));
      const reported = show(json, csv);
      expect(await reportCommand({ dir: dir!, show: reported.p })).toBe(0);
      const printed = ran.out.text();
      expect(reported.out.text()).toBe(printed);
      expect(printed).toMatch(
        json ? /"type":"phase-run"/ : csv ? /^record,/ : /experiment boundary: 4 phase runs/,
      );
      // The file is RFC 4180 (CRLF) as written; printed, it is the same text.
      if (csv) expect(readFileSync(join(dir!, "results.csv"), "utf8")).toBe(printed.replace(/\n$/, "\r\n"));
    }
  });

  it("keeps the phases measured before a failure, and the namespace is gone", async () => {
    const root = tempRoot();
    const cluster = new FakeCluster();
    cluster.failing = /cpu-r2-w1/;
    const err = await runCommand(commandDeps(cluster, root, show().p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailed);
    const [dir] = readdirSync(join(root, "results"));
    const phases = JSON.parse(readFileSync(join(root, "results", dir!, "phases.json"), "utf8")) as PhaseRun[];
    expect(phases.map((r) => `${r.phase}#${r.repetition}`)).toEqual(["idle#1", "cpu#1", "idle#2"]);
    expect(readdirSync(join(root, "results", dir!))).not.toContain("results.json");
    expect(left(cluster)).toEqual(NOTHING_LEFT);
  });

  it("on Ctrl-C stops, deletes the namespace, records what ran and exits 130; a second Ctrl-C exits at once", async () => {
    const root = tempRoot();
    const cluster = new FakeCluster();
    const signals = new EventEmitter();
    const exits: number[] = [];
    cluster.onCall = (args) => {
      if (args[1] === "jobs,pods" && cluster.history.length === 2 && exits.length === 0) {
        signals.emit("SIGINT", "SIGINT");
        signals.emit("SIGINT", "SIGINT");
      }
    };
    const out = show();
    const outcome = await runCommand(
      commandDeps(cluster, root, out.p, { interrupts: { signals, exit: (code) => exits.push(code) } }),
    );
    expect(outcome.code).toBe(130);
    expect(exits).toEqual([130]);
    expect(out.err.text()).toContain("SIGINT: stopping: no new phase starts");
    expect(out.err.text()).toContain("SIGINT again: exiting now");
    expect(left(cluster)).toEqual(NOTHING_LEFT);
    const phases = JSON.parse(readFileSync(join(outcome.dir!, "phases.json"), "utf8")) as PhaseRun[];
    expect(phases.map((r) => r.phase)).toEqual(["idle"]);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  it("refuses a plan whose node Kubernetes does not know, before creating anything", async () => {
    const root = tempRoot();
    const cluster = new FakeCluster(["ctl", "w1"]);
    const err = (await runCommand(commandDeps(cluster, root, show().p)).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      "plan.yaml:9:5: phase cpu runs on node w2, which Kubernetes does not know (it has ctl, w1)",
    );
    expect(cluster.calls.filter((c) => c[0] === "create")).toEqual([]);
  });

  it("--check prints every Job it would create as YAML and creates nothing", () => {
    const plan = testPlan();
    const out = show();
    expect(printCheck({ plan, namespace: namespaceObject(plan), jobs: jobsFor(plan) }, out.p)).toBe(0);
    const docs = parseAllDocuments(out.out.text()).map((d) => d.toJS() as KubeObject);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      "Namespace/exp-boundary",
      "Job/boundary-cpu-r1-w1",
      "Job/boundary-cpu-r1-w2",
      "Job/boundary-cpu-r2-w1",
      "Job/boundary-cpu-r2-w2",
    ]);
    // Exactly what the run creates: labelled with its step.
    expect(docs[1]!.metadata.labels![STEP_LABEL]).toBe("2");
    expect(out.out.text()).toContain("# phase idle, repetition 1: no Job (the nodes rest)");
  });
});

// ---- the real plan file and workloads, through the command ----------------------------------------

const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;
const REAL_PLAN = `name: wired
namespace: exp-wired
repetitions: 1
settle: 1s
images:
  stress_ng: ghcr.io/colinianking/stress-ng@${DIGEST("a")}
  fio: ljishen/fio@${DIGEST("b")}
  iperf3: networkstatic/iperf3@${DIGEST("c")}
background:
  workload: { kind: cpu, load: 10, workers: 1 }
  nodes: [ctl]
phases:
  - name: idle
    workload: { kind: idle }
    duration: 30s
    nodes: [w1]
  - name: cpu
    workload: { kind: cpu, load: 50, workers: 2 }
    duration: 1m
    nodes: [w1]
  - name: net
    workload: { kind: network, peer: ctl, parallel: 2 }
    duration: 1m
    nodes: [w1]
`;

function writeInputs(root: string): { plan: string; inventory: string } {
  const plan = join(root, "plan.yaml");
  const inventory = join(root, "inventory.yaml");
  writeFileSync(plan, REAL_PLAN);
  writeFileSync(inventory, MINIMAL_INVENTORY);
  return { plan, inventory };
}

describe("experiment run at the boundary with the real plan file and workloads", () => {
  it("runs the plan's Jobs (a network phase's Service too) and records its exact text", async () => {
    const root = tempRoot();
    const files = writeInputs(root);
    const prepared = preparePlan(files.plan, parseInventory(MINIMAL_INVENTORY, files.inventory));
    const cluster = new FakeCluster(["ctl", "w1"]);
    const created: string[] = [];
    const create = cluster.kubectl.bind(cluster);
    cluster.kubectl = async (args, opts) => {
      if (args[0] === "create" && args[1] === "-f")
        created.push(...parseAllDocuments(opts!.stdin!).map((d) => (d.toJS() as KubeObject).kind));
      return create(args, opts);
    };
    const out = show();
    const { code, dir } = await runCommand({ ...commandDeps(cluster, root, out.p), ...prepared });
    expect(code).toBe(0);
    expect(created).toEqual(["Namespace", "Job", "Job", "Service", "Job", "Job"]);
    const phases = JSON.parse(readFileSync(join(dir!, "phases.json"), "utf8")) as PhaseRun[];
    expect(phases.map((r) => [r.phase, r.jobs.length])).toEqual([
      ["idle", 0],
      ["cpu", 1],
      ["net", 2],
    ]);
    expect(readFileSync(join(dir!, "plan.yaml"), "utf8")).toBe(REAL_PLAN);
    expect(left(cluster)).toEqual(NOTHING_LEFT);
  });

  it("`powerstack experiment run --check` prints the objects and contacts nothing; `report` refuses --check", async () => {
    const root = tempRoot();
    const files = writeInputs(root);
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      written.push(String(s));
      return true;
    });
    let code: number;
    try {
      // The control node's address is not on loopback: any connection would fail the test (net guard).
      code = await main(["experiment", "run", files.plan, "--check", "-i", files.inventory]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const docs = parseAllDocuments(written.join(""))
      .map((d) => d.toJS() as KubeObject | null)
      .filter((d): d is KubeObject => d !== null);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      "Namespace/exp-wired",
      "Job/wired-background-ctl",
      "Job/wired-cpu-r1-w1",
      "Service/wired-net-r1-w1-iperf3",
      "Job/wired-net-r1-w1-iperf3",
      "Job/wired-net-r1-w1",
    ]);
    expect(readdirSync(root).sort()).toEqual(["inventory.yaml", "plan.yaml"]);

    const refused = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await main(["experiment", "report", root, "--check"])).toBe(2);
      expect(String(refused.mock.calls[0]?.[0])).toContain("--check applies to `experiment run`");
    } finally {
      refused.mockRestore();
    }
  });
});

describe("experiment report --reprice at the boundary", () => {
  it("prices the directory's phases.json again, with the plan's name, namespace and idle phases from its plan.yaml", async () => {
    const root = tempRoot();
    const plan = testPlan({ text: REAL_PLAN });
    const { dir } = await runCommand({
      ...commandDeps(new FakeCluster(), root, show().p),
      plan,
      jobs: jobsFor(plan),
    });
    const before = hashes(dir!);
    let seen: { plan?: unknown; runs?: PhaseRun[] } = {};
    const out = show();
    await reportCommand({
      dir: dir!,
      show: out.p,
      reprice: async (d, runs) => {
        const pricePlan = planForPricing(d, runs);
        seen = { plan: pricePlan, runs };
        return { experiment: pricePlan.name, priced: await fakePrice(runs) };
      },
    });
    expect(seen.plan).toEqual({
      name: "wired",
      namespace: "exp-wired",
      phases: [
        { name: "idle", workload: { kind: "idle" } },
        { name: "cpu", workload: { kind: "command", image: "" } },
      ],
    });
    expect(seen.runs).toEqual(JSON.parse(readFileSync(join(dir!, "phases.json"), "utf8")));
    expect(out.out.text()).toMatch(/^experiment wired: 4 phase runs/);
    // A repricing is printed, never written over the run's record.
    expect(hashes(dir!)).toEqual(before);
  });
});

describe("experiment run at the boundary: reading a pod's status", () => {
  const pod = (status: Record<string, unknown>) =>
    ({ kind: "Pod", metadata: { name: "p" }, spec: { nodeName: "w1" }, status }) as Parameters<
      typeof podFailure
    >[0];

  it("fails at once on a container that cannot start, with the kubelet's reason", () => {
    expect(
      podFailure(
        pod({
          phase: "Pending",
          containerStatuses: [
            {
              name: "workload",
              state: {
                waiting: {
                  reason: "ImagePullBackOff",
                  message: 'Back-off pulling image "ljishen/fio@sha256:000"',
                },
              },
            },
          ],
        }),
      ),
    ).toBe('ImagePullBackOff (container workload): Back-off pulling image "ljishen/fio@sha256:000"');
  });

  it("names an OOM-killed container and its exit code", () => {
    expect(
      podFailure(
        pod({
          phase: "Failed",
          containerStatuses: [
            { name: "workload", state: { terminated: { reason: "OOMKilled", exitCode: 137 } } },
          ],
        }),
      ),
    ).toBe("OOMKilled (container workload, exit code 137)");
  });

  it("lets a pod that is only being created, or running, go on", () => {
    expect(
      podFailure(
        pod({
          phase: "Pending",
          containerStatuses: [{ name: "w", state: { waiting: { reason: "ContainerCreating" } } }],
        }),
      ),
    ).toBeUndefined();
    expect(podFailure(pod({ phase: "Running" }))).toBeUndefined();
  });
});
