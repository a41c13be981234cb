/**
 * The idle policy of `powerstack power idle` (issue 19, item 11) as pure functions: facts in, one
 * decision with its reason per node out. No clock, cluster, BMC or Prometheus.
 */
import { describe, expect, it } from "vitest";
import {
  assessIdle,
  decideIdle,
  IDLE_DEFAULTS,
  pendingForResources,
  type IdleSettings,
  type KeplerNodeFacts,
  type NodeFacts,
  type PodFact,
} from "../../src/power/idle-policy.js";

const MIN = 60_000;
const NOW = Date.parse("2026-12-06T02:00:00Z");

const S: IdleSettings = {
  nowMs: NOW,
  idleForMs: 30 * MIN,
  minWorkersOn: 1,
  systemNamespaces: ["kube-system", "monitoring", "kepler"],
  ...IDLE_DEFAULTS,
};

/** Kepler seeing an idle node for the whole window: 80 W idle draw, 82 W peak, no workload joules. */
const quiet = (over: Partial<KeplerNodeFacts> = {}): KeplerNodeFacts => ({
  firstSampleMs: NOW - 30 * MIN + 15_000,
  workloadJoules: 0,
  peakWatts: 82,
  idleWatts: 80,
  source: "platform",
  ...over,
});

const node = (name: string, over: Partial<NodeFacts> = {}): NodeFacts => ({
  name,
  role: "worker",
  hasBmc: true,
  power: "On",
  kepler: quiet(),
  ...over,
});

const control = node("ctl", { role: "control" });

const pod = (
  ns: string,
  name: string,
  nodeName: string | undefined,
  over: Partial<PodFact> = {},
): PodFact => ({
  namespace: ns,
  name,
  node: nodeName,
  phase: "Running",
  daemonSet: false,
  claims: [],
  hostVolumes: [],
  ...over,
});

/** Every node has Kepler and node-exporter DaemonSet pods: they never make a node busy. */
const daemons = (names: string[]) =>
  names.flatMap((n) => [
    pod("kepler", `kepler-${n}`, n, { daemonSet: true, hostVolumes: ["proc", "sys"] }),
    pod("default", `log-agent-${n}`, n, { daemonSet: true }), // a user DaemonSet outside system namespaces
  ]);

const pendingCpu = pod("default", "big-job", undefined, {
  phase: "Pending",
  unschedulable: { reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." },
});

const actions = (ds: ReturnType<typeof decideIdle>) => Object.fromEntries(ds.map((d) => [d.node, d.action]));

describe("idle policy (issue 19, item 11)", () => {
  const table: Array<{
    name: string;
    nodes: NodeFacts[];
    pods: PodFact[];
    settings?: Partial<IdleSettings>;
    want: Record<string, string>;
    reason?: [string, string | RegExp];
  }> = [
    {
      name: "an idle worker is powered off (the other stays on for min_workers_on 1)",
      nodes: [control, node("w1", { kepler: quiet({ peakWatts: 200 }) }), node("w2")],
      pods: [...daemons(["ctl", "w1", "w2"]), pod("default", "web", "w1")],
      want: { ctl: "keep", w1: "keep-on", w2: "power-off" },
      reason: ["w2", /^idle: no workload pods for >= 30 min; platform peak 82 W within idle draw 80 W/],
    },
    {
      name: "never below power.min_workers_on: two idle workers, min 1, only one goes",
      nodes: [control, node("w1"), node("w2")],
      pods: daemons(["ctl", "w1", "w2"]),
      want: { ctl: "keep", w1: "power-off", w2: "keep-on" },
      reason: ["w2", "idle, but power.min_workers_on is 1 and 1 worker(s) are on"],
    },
    {
      name: "min_workers_on 2 with two idle workers: neither goes",
      nodes: [control, node("w1"), node("w2")],
      pods: [],
      settings: { minWorkersOn: 2 },
      want: { ctl: "keep", w1: "keep-on", w2: "keep-on" },
    },
    {
      name: "an off worker counts as not on: the one idle worker left stays",
      nodes: [control, node("w1", { power: "Off" }), node("w2")],
      pods: [],
      want: { ctl: "keep", w1: "keep-off", w2: "keep-on" },
    },
    {
      name: "never the control node, however idle",
      nodes: [control],
      pods: [],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep" },
      reason: ["ctl", "control node: never powered off or on by the idle policy"],
    },
    {
      name: "a worker holding a volume in use stays on (a PVC, even in a system namespace)",
      nodes: [control, node("w1"), node("w2"), node("w3")],
      pods: [
        pod("monitoring", "prometheus-0", "w1", { claims: ["prometheus-db"] }),
        pod("default", "cache", "w2", { phase: "Succeeded", finishedMs: NOW - 60 * MIN, claims: ["x"] }),
      ],
      want: { ctl: "keep", w1: "keep-on", w2: "power-off", w3: "power-off" },
      reason: ["w1", "idle, but holds volumes in use: monitoring/prometheus-0 mounts PVC prometheus-db"],
    },
    {
      name: "a pod Pending for Insufficient cpu powers one off worker on (the first by name), none off",
      nodes: [control, node("w1"), node("w2", { power: "Off" }), node("w3", { power: "Off" })],
      pods: [pendingCpu],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep-on", w2: "power-on", w3: "keep-off" },
      reason: [
        "w2",
        "1 pod(s) Pending for lack of resources (default/big-job: 0/3 nodes are available: 3 Insufficient cpu.)",
      ],
    },
    {
      name: "a pod Pending for another reason (a node selector) powers nothing on",
      nodes: [control, node("w1", { power: "Off" })],
      pods: [
        pod("default", "picky", undefined, {
          phase: "Pending",
          unschedulable: {
            reason: "Unschedulable",
            message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
          },
        }),
      ],
      want: { ctl: "keep", w1: "keep-off" },
    },
    {
      name: "not idle long enough: the last workload pod finished 10 min ago",
      nodes: [control, node("w1"), node("w2")],
      pods: [pod("default", "batch", "w1", { phase: "Succeeded", finishedMs: NOW - 10 * MIN })],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep-on", w2: "power-off" },
      reason: ["w1", "not idle: a workload pod finished 10 min ago (< 30 min)"],
    },
    {
      name: "not idle long enough: Kepler has seen the node for 12 min only",
      nodes: [control, node("w1", { kepler: quiet({ firstSampleMs: NOW - 12 * MIN }) })],
      pods: [],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep-on" },
      reason: ["w1", "not idle: Kepler covers only the last 12 min of 30 min"],
    },
    {
      name: "Kepler shows load although no pods are on it (a host process)",
      nodes: [control, node("w1", { kepler: quiet({ peakWatts: 140 }) })],
      pods: daemons(["w1"]),
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep-on" },
      reason: [
        "w1",
        "not idle: Kepler shows load: platform peaked at 140 W (5-min average) in the last 30 min; idle draw 80 W, idle up to 88 W",
      ],
    },
    {
      name: "Kepler attributes energy to a pod deleted inside the window (Kubernetes forgot it)",
      nodes: [control, node("w1", { kepler: quiet({ workloadJoules: 5000 }) })],
      pods: [],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep-on" },
      reason: [
        "w1",
        "not idle: Kepler attributes 5000 J to workload pods in the last 30 min (idle: <= 30 J)",
      ],
    },
    {
      name: "no Kepler data is no evidence: kept on",
      nodes: [control, node("w1", { kepler: undefined })],
      pods: [],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep-on" },
      reason: ["w1", "not idle: no Kepler data for this node: no evidence of idleness"],
    },
    {
      name: "no BMC, or a BMC that did not answer: left as it is",
      nodes: [control, node("w1", { hasBmc: false }), node("w2", { power: "unknown" })],
      pods: [],
      settings: { minWorkersOn: 0 },
      want: { ctl: "keep", w1: "keep", w2: "keep" },
    },
  ];

  for (const t of table) {
    it(t.name, () => {
      const ds = decideIdle(t.nodes, t.pods, { ...S, ...t.settings });
      expect(actions(ds)).toEqual(t.want);
      expect(ds.every((d) => d.reason.length > 0)).toBe(true);
      if (t.reason) {
        const d = ds.find((x) => x.node === t.reason![0])!;
        if (typeof t.reason[1] === "string") expect(d.reason).toBe(t.reason[1]);
        else expect(d.reason).toMatch(t.reason[1]);
      }
    });
  }

  it("is deterministic: the same facts in any order give the same decisions, ordered by name", () => {
    const nodes = [node("w3"), control, node("w1"), node("w2", { power: "Off" }), node("w4")];
    const pods = [...daemons(["w1", "w3", "w4"]), pod("default", "web", "w4")];
    const first = decideIdle(nodes, pods, S);
    expect(first.map((d) => d.node)).toEqual(["ctl", "w1", "w2", "w3", "w4"]);
    expect(actions(first)).toEqual({
      ctl: "keep",
      w1: "power-off",
      w2: "keep-off",
      w3: "power-off", // w4 is busy and stays on: min_workers_on 1 holds
      w4: "keep-on",
    });
    for (const perm of [[...nodes].reverse(), [nodes[2]!, nodes[4]!, nodes[0]!, nodes[3]!, nodes[1]!]]) {
      expect(decideIdle(perm, [...pods].reverse(), S)).toEqual(first);
    }
  });

  it("reads Pending for lack of resources from PodScheduled=False/Unschedulable and Insufficient cpu or memory", () => {
    const mem = pod("a", "m", undefined, {
      phase: "Pending",
      unschedulable: { reason: "Unschedulable", message: "0/3 nodes are available: 1 Insufficient memory." },
    });
    const other = pod("a", "o", undefined, {
      phase: "Pending",
      unschedulable: { reason: "SchedulerError", message: "Insufficient cpu" },
    });
    expect(pendingForResources([pendingCpu, mem, other]).map((p) => p.name)).toEqual(["m", "big-job"]);
  });

  it("DaemonSet pods and system namespaces never make a node busy; an idle node's evidence is given", () => {
    const a = assessIdle(node("w1"), [...daemons(["w1"]), pod("kube-system", "coredns-1", "w1")], S);
    expect(a).toEqual({
      idle: true,
      why: ["no workload pods for >= 30 min", "platform peak 82 W within idle draw 80 W + margin"],
    });
  });
});
