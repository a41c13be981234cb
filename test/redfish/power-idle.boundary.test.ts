/**
 * `powerstack power idle` (issue 19, item 11) at the boundary (boundary): real Redfish (our test BMC, one
 * per node), a stand-in cluster answering `kubectl get pods -A -o json` with pods as Kubernetes returns
 * them and recording every kubectl command, and Kepler's facts handed in (Prometheus is tested on its own).
 */
import { describe, expect, it } from "vitest";
import { ExitCode, PowerstackError } from "../../src/errors.js";
import type { NodeSpec } from "../../src/inventory/types.js";
import { powerIdle, type IdleDeps } from "../../src/power/idle-command.js";
import { parsePods } from "../../src/power/idle-facts.js";
import type { KeplerNodeFacts } from "../../src/power/idle-policy.js";
import { nodeFor, RecordingCluster, RecordingOutput, testBmcs, testClientFactory } from "./helpers.js";
import type { TestBmc } from "./server/server.js";

const RESET = "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset";
const FAST = { drainTimeoutSec: 300, offTimeoutSec: 5, onTimeoutSec: 5, readyTimeoutSec: 600, pollMs: 10 };
const MIN = 60_000;
const NOW = Date.parse("2026-12-06T02:00:00Z");

const bmc = testBmcs();

/** Pods as `kubectl get pods -A -o json` prints them (the fields the policy reads). */
function k8sPod(
  ns: string,
  name: string,
  node: string | undefined,
  extra: { phase?: string; daemonSet?: boolean; pvc?: string; unschedulable?: string } = {},
) {
  return {
    metadata: {
      namespace: ns,
      name,
      ...(extra.daemonSet ? { ownerReferences: [{ kind: "DaemonSet", name: "kepler" }] } : {}),
    },
    spec: {
      ...(node ? { nodeName: node } : {}),
      volumes: extra.pvc ? [{ name: "data", persistentVolumeClaim: { claimName: extra.pvc } }] : [],
    },
    status: {
      phase: extra.phase ?? "Running",
      startTime: "2026-12-05T20:00:00Z",
      conditions: extra.unschedulable
        ? [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: extra.unschedulable }]
        : [{ type: "PodScheduled", status: "True" }],
      containerStatuses: [{ state: { running: { startedAt: "2026-12-05T20:00:05Z" } } }],
    },
  };
}

const quiet = (over: Partial<KeplerNodeFacts> = {}): KeplerNodeFacts => ({
  firstSampleMs: NOW - 30 * MIN + 15_000,
  workloadJoules: 0,
  peakWatts: 246,
  idleWatts: 245,
  source: "platform",
  ...over,
});

function harness(
  nodes: NodeSpec[],
  watch: TestBmc[],
  pods: unknown[],
  kepler: Record<string, KeplerNodeFacts>,
  check: boolean,
) {
  const out = new RecordingOutput();
  const log: Array<{ event: string; data: Record<string, unknown> }> = [];
  const timeline: string[] = [];
  const cluster = new RecordingCluster((args) =>
    args[0] === "get" && args[1] === "pods" ? { stdout: JSON.stringify({ items: pods }) } : undefined,
  );
  cluster.onCall.push((c) => timeline.push(`kubectl ${c.args.join(" ")}`));
  for (const b of watch) {
    b.onRequest.push((r) => {
      if (r.method === "POST" && r.path === RESET)
        timeline.push(`redfish ${b.address} reset ${(r.body as { ResetType: string }).ResetType}`);
      else if (r.method === "PATCH") timeline.push(`redfish PATCH ${r.path}`);
    });
  }
  const deps: IdleDeps = {
    nodes,
    inventoryFile: "/srv/inventory.yaml",
    clientFor: testClientFactory(),
    cluster: async () => cluster,
    out,
    check,
    timing: FAST,
    nowMs: NOW,
    idleForMs: 30 * MIN,
    minWorkersOn: 1,
    systemNamespaces: ["kube-system", "monitoring", "kepler"],
    kepler: async () => new Map(Object.entries(kepler)),
    log: (event, data) => log.push({ event, data }),
  };
  return { deps, out, log, timeline, cluster };
}

describe("power idle (boundary)", () => {
  it("--check: one line and one JSON object per node, with the reason; reads only, changes nothing", async () => {
    const [b1, b2, b3, b4] = await Promise.all([bmc(), bmc(), bmc(), bmc({ powerState: "Off" })]);
    const nodes = [
      nodeFor("ctl", "control", b1),
      nodeFor("w1", "worker", b2),
      nodeFor("w2", "worker", b3),
      nodeFor("w3", "worker", b4),
    ];
    const pods = [
      k8sPod("kepler", "kepler-w1", "w1", { daemonSet: true }),
      k8sPod("kepler", "kepler-w2", "w2", { daemonSet: true }),
      k8sPod("default", "web-1", "w2"),
    ];
    const h = harness(
      nodes,
      [b1, b2, b3, b4],
      pods,
      { w1: quiet(), w2: quiet(), w3: quiet({ lastSampleMs: NOW - 60 * MIN }) },
      true,
    );
    expect(await powerIdle(h.deps)).toBe(0);
    expect(h.out.lines).toEqual([
      "ctl: left as it is: control node: never powered off or on by the idle policy",
      "w1: would drain and power off: idle: no workload pods for >= 30 min; platform peak 246 W within idle draw 245 W + margin",
      "w2: stays on: not idle: 1 workload pod(s) on it: default/web-1",
      // Our test BMC reads 9 W while off: 245 - 9 = 236 W saved for the hour since Kepler's last sample.
      "w3: stays off: no pods Pending for lack of resources; saving 236 W (idle 245 W, off 9 W), 0.236 kWh so far",
    ]);
    expect(h.out.objects.map((o) => [o.node, o.action, o.result])).toEqual([
      ["ctl", "keep", undefined],
      ["w1", "power-off", "would"],
      ["w2", "keep-on", undefined],
      ["w3", "keep-off", undefined],
    ]);
    expect(h.out.objects[3]!.saving).toMatchObject({
      idleWatts: 245,
      offWatts: 9,
      savingWatts: 236,
      savedKwh: 0.236,
    });
    // Every decision is in the run log.
    expect(h.log.filter((l) => l.event === "idle-decision").map((l) => l.data.node)).toEqual([
      "ctl",
      "w1",
      "w2",
      "w3",
    ]);
    // Only reads: one kubectl get, no reset, no cordon.
    expect(h.timeline).toEqual(["kubectl get pods --all-namespaces -o json"]);
  });

  it("--yes: drains and powers off the idle worker through the power-off path (cordon, drain, GracefulShutdown)", async () => {
    const [b1, b2, b3] = await Promise.all([bmc(), bmc(), bmc()]);
    const nodes = [nodeFor("ctl", "control", b1), nodeFor("w1", "worker", b2), nodeFor("w2", "worker", b3)];
    const pods = [
      k8sPod("default", "web-1", "w2"),
      k8sPod("monitoring", "prometheus-0", "w2", { pvc: "prom-db" }),
    ];
    const h = harness(nodes, [b1, b2, b3], pods, { w1: quiet(), w2: quiet() }, false);
    expect(await powerIdle(h.deps)).toBe(0);
    expect(h.timeline).toEqual([
      "kubectl get pods --all-namespaces -o json",
      "kubectl cordon w1",
      "kubectl drain w1 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
      `redfish ${b2.address} reset GracefulShutdown`,
    ]);
    expect(b2.state.powerState).toBe("Off");
    expect(h.out.objects.map((o) => [o.node, o.action, o.result])).toEqual([
      ["ctl", "keep", undefined],
      ["w1", "power-off", "done"],
      ["w2", "keep-on", undefined],
    ]);
    expect(h.out.objects[2]!.reason).toBe("not idle: 1 workload pod(s) on it: default/web-1");
    expect(h.out.objects[2]!.volumesInUse).toEqual(["monitoring/prometheus-0 mounts PVC prom-db"]);
    // The power-off path's own steps go to the run log, not into the one-object-per-node output.
    expect(h.log.filter((l) => l.event === "idle-step").map((l) => l.data.action)).toEqual([
      "cordon",
      "drain",
      "power",
      "power",
    ]);
  });

  it("--yes: a pod Pending for Insufficient cpu powers an off worker on, waits for Ready and uncordons", async () => {
    const [b1, b2] = await Promise.all([bmc(), bmc({ powerState: "Off" })]);
    const nodes = [nodeFor("ctl", "control", b1), nodeFor("w1", "worker", b2)];
    const pods = [
      k8sPod("default", "big", undefined, {
        phase: "Pending",
        unschedulable: "0/1 nodes are available: 1 Insufficient cpu.",
      }),
    ];
    const h = harness(nodes, [b1, b2], pods, {}, false);
    h.cluster.onCall.length = 0;
    const cluster = new RecordingCluster((args) => {
      if (args[0] === "get" && args[1] === "pods") return { stdout: JSON.stringify({ items: pods }) };
      if (args[0] === "get" && args[1] === "node") return { stdout: "true" }; // cordoned by the earlier power-off
      return undefined;
    });
    cluster.onCall.push((c) => h.timeline.push(`kubectl ${c.args.join(" ")}`));
    h.deps.cluster = async () => cluster;
    expect(await powerIdle(h.deps)).toBe(0);
    expect(h.timeline).toEqual([
      "kubectl get pods --all-namespaces -o json",
      `redfish ${b2.address} reset On`,
      "kubectl wait --for=condition=Ready node/w1 --timeout=600s",
      "kubectl get node w1 -o jsonpath={.spec.unschedulable}",
      "kubectl uncordon w1",
    ]);
    expect(h.out.objects[1]).toMatchObject({ node: "w1", action: "power-on", result: "done" });
  });

  it("Prometheus unreadable: says so, no worker counts as idle, and the pass exits non-zero (3: unreachable)", async () => {
    const [b1, b2] = await Promise.all([bmc(), bmc()]);
    const h = harness([nodeFor("ctl", "control", b1), nodeFor("w1", "worker", b2)], [b1, b2], [], {}, true);
    h.deps.kepler = async () => {
      throw new PowerstackError("cannot reach Prometheus at http://127.0.0.1:9", ExitCode.unreachable);
    };
    h.deps.minWorkersOn = 0;
    expect(await powerIdle(h.deps)).toBe(3);
    expect(h.out.lines[0]).toMatch(
      /^Kepler\/Prometheus could not be read, so no worker counts as idle: cannot reach/,
    );
    expect(h.out.objects[1]).toMatchObject({ node: "w1", action: "keep-on" });
    expect(h.out.objects[1]!.reason).toContain("no Kepler data for this node");
  });

  it("a worker's BMC unreachable: left as it is, the others decided, exit 3", async () => {
    const [b1, b2] = await Promise.all([bmc(), bmc()]);
    const gone = nodeFor("w2", "worker", b2);
    await b2.stop();
    const h = harness(
      [nodeFor("ctl", "control", b1), nodeFor("w1", "worker", b1), gone],
      [],
      [],
      { w1: quiet() },
      true,
    );
    expect(await powerIdle(h.deps)).toBe(3);
    expect(h.out.objects.map((o) => [o.node, o.action])).toEqual([
      ["ctl", "keep"],
      ["w1", "keep-on"], // min_workers_on 1: w2's state is unknown, so it does not count as on
      ["w2", "keep"],
    ]);
    expect(h.out.objects[2]!.reason).toBe("power state unknown (the BMC did not answer): left as it is");
    expect(String(h.out.objects[2]!.bmcError)).toMatch(/BMC of w2/);
  });
});

describe("parsePods", () => {
  it("reads phase, node, DaemonSet ownership, PVCs, finish times and PodScheduled=False", () => {
    const done = k8sPod("default", "job-1", "w1", { phase: "Succeeded" });
    done.status.containerStatuses = [
      {
        state: { terminated: { startedAt: "2026-12-06T01:00:00Z", finishedAt: "2026-12-06T01:20:00Z" } },
      } as never,
    ];
    const pods = parsePods(
      JSON.stringify({
        items: [
          done,
          k8sPod("kepler", "k", "w1", { daemonSet: true }),
          k8sPod("db", "pg-0", "w2", { pvc: "pg-data" }),
          k8sPod("default", "big", undefined, {
            phase: "Pending",
            unschedulable: "0/3 nodes are available: 3 Insufficient memory.",
          }),
        ],
      }),
    );
    expect(pods).toEqual([
      expect.objectContaining({
        name: "job-1",
        node: "w1",
        phase: "Succeeded",
        finishedMs: Date.parse("2026-12-06T01:20:00Z"),
      }),
      expect.objectContaining({ name: "k", daemonSet: true }),
      expect.objectContaining({ name: "pg-0", claims: ["pg-data"], daemonSet: false }),
      expect.objectContaining({
        name: "big",
        unschedulable: {
          reason: "Unschedulable",
          message: "0/3 nodes are available: 3 Insufficient memory.",
        },
      }),
    ]);
    expect(pods[3]!.node).toBeUndefined();
  });
});
