/**
 * Boundary tests of `powerstack power status|off|on`: real Redfish (the test BMC, one per node) and a
 * recording Cluster (no Kubernetes exists here), asserting the exact kubectl commands and their order
 * relative to the BMC's power actions.
 */
import { describe, expect, it } from "vitest";
import { InputError, PowerstackError } from "../../src/errors.js";
import type { NodeSpec } from "../../src/inventory/types.js";
import { RedfishError } from "../../src/redfish/errors.js";
import { powerOff, powerOn, powerStatus, type PowerDeps } from "../../src/redfish/power-command.js";
import {
  closedPort,
  nodeFor,
  RecordingCluster,
  RecordingOutput,
  rejection,
  testBmcs,
  testClientFactory,
} from "./helpers.js";
import type { TestBmc } from "./server/server.js";

const RESET = "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset";
const FAST = { drainTimeoutSec: 300, offTimeoutSec: 5, onTimeoutSec: 5, readyTimeoutSec: 600, pollMs: 10 };

const bmc = testBmcs();

interface Harness {
  deps: PowerDeps;
  cluster: RecordingCluster;
  out: RecordingOutput;
  /** kubectl commands and BMC writes (not reads), in the order they happened. */
  timeline: string[];
  connects: () => number;
}

function harness(
  nodes: NodeSpec[],
  bmcsToWatch: TestBmc[],
  {
    check = false,
    cluster = new RecordingCluster(),
    vault,
  }: { check?: boolean; cluster?: RecordingCluster; vault?: Record<string, string> } = {},
): Harness {
  const out = new RecordingOutput();
  const timeline: string[] = [];
  cluster.onCall.push((c) => timeline.push(`kubectl ${c.args.join(" ")}`));
  for (const b of bmcsToWatch) {
    b.onRequest.push((r) => {
      if (r.method === "POST" && r.path === RESET)
        timeline.push(`redfish reset ${(r.body as { ResetType: string }).ResetType}`);
      else if (r.method === "PATCH") timeline.push(`redfish PATCH ${r.path}`);
    });
  }
  let connects = 0;
  const deps: PowerDeps = {
    nodes,
    inventoryFile: "/srv/inventory.yaml",
    clientFor: testClientFactory(vault),
    cluster: async () => {
      connects++;
      return cluster;
    },
    out,
    check,
    timing: FAST,
  };
  return { deps, cluster, out, timeline, connects: () => connects };
}

describe("power status", () => {
  it("prints the machine, power state and watts per node in an aligned table and one JSON object per node", async () => {
    const b1 = await bmc();
    const b2 = await bmc({ powerState: "Off" });
    const nodes = [
      nodeFor("node1", "control", b1),
      nodeFor("node2", "worker", b2),
      nodeFor("node3", "worker"),
    ];
    const h = harness(nodes, []);
    expect(await powerStatus(h.deps)).toBe(0);
    const pad = " ".repeat(b1.address.length - 3);
    const system = "Lenovo 7X06CTO1WW, id 437XR1138R2";
    expect(h.out.lines).toEqual([
      `NODE   ROLE     BMC${pad}  SYSTEM${" ".repeat(system.length - 6)}  POWER  WATTS  NOTE`,
      `node1  control  ${b1.address}  ${system}  On     245 W`,
      `node2  worker   ${b2.address}  ${system}  Off    9 W`,
      `node3  worker   -${" ".repeat(b1.address.length - 1)}  -${" ".repeat(system.length - 1)}  -      -      no BMC in the inventory`,
    ]);
    const identity = { id: "437XR1138R2", manufacturer: "Lenovo", model: "7X06CTO1WW" };
    const source = "/redfish/v1/Chassis/1U/Power PowerControl[0].PowerConsumedWatts";
    expect(h.out.objects).toEqual([
      {
        node: "node1",
        role: "control",
        bmc: b1.address,
        system: identity,
        powerState: "On",
        watts: 245,
        wattsSource: source,
      },
      {
        node: "node2",
        role: "worker",
        bmc: b2.address,
        system: identity,
        powerState: "Off",
        watts: 9,
        wattsSource: source,
      },
      { node: "node3", role: "worker", error: "no BMC in the inventory" },
    ]);
    expect(h.connects()).toBe(0); // status never needs the cluster
    expect([b1, b2].every((b) => b.state.sessions.size === 0)).toBe(true); // logged out
  });

  it("names the machine behind the address: serial number and host name too, where the BMC gives them", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node2", "worker", b)], []);
    // Our test BMC's ComputerSystem has no SerialNumber or HostName: add them as a BMC would send them.
    const factory = h.deps.clientFor;
    h.deps.clientFor = (node) => {
      const client = factory(node);
      const get = client.get.bind(client);
      client.get = async (path: string) => {
        const body = await get(path);
        return path === "/redfish/v1/Systems/437XR1138R2"
          ? { ...body, SerialNumber: "J300ABCD", HostName: "web483" }
          : body;
      };
      return client;
    };
    expect(await powerStatus(h.deps)).toBe(0);
    expect(h.out.objects[0]?.system).toEqual({
      id: "437XR1138R2",
      manufacturer: "Lenovo",
      model: "7X06CTO1WW",
      serialNumber: "J300ABCD",
      hostName: "web483",
    });
    expect(h.out.lines[1]).toContain("Lenovo 7X06CTO1WW, id 437XR1138R2, SN J300ABCD, host web483");
  });

  it("says why a reading is missing, in the table and in JSON, and exits 1", async () => {
    const b = await bmc({ powerModel: "none" });
    const h = harness([nodeFor("node2", "worker", b)], []);
    expect(await powerStatus(h.deps)).toBe(1);
    const note =
      "no power reading: none of 2 chassis has Power, PowerSubsystem or EnvironmentMetrics readings; fix: update the BMC firmware (Kepler's platform power needs this reading)";
    expect(h.out.objects).toEqual([
      {
        node: "node2",
        role: "worker",
        bmc: b.address,
        system: { id: "437XR1138R2", manufacturer: "Lenovo", model: "7X06CTO1WW" },
        powerState: "On",
        note,
      },
    ]);
    expect(h.out.lines[1]).toMatch(/  On     -      no power reading: none of 2 chassis/);
  });

  it("exits 3 when a BMC cannot be reached (README: 3 only for unreachable), naming it in its row", async () => {
    const b = await bmc();
    const gone = nodeFor("node3", "worker", b);
    gone.bmc!.address = `https://127.0.0.1:${await closedPort()}`;
    const h = harness([nodeFor("node2", "worker", b), gone], []);
    expect(await powerStatus(h.deps)).toBe(3);
    expect(h.out.objects[0]).toMatchObject({ node: "node2", powerState: "On", watts: 245 });
    expect(h.out.objects[1]).toMatchObject({ node: "node3", bmc: gone.bmc!.address });
    expect(h.out.objects[1]?.error).toMatch(/^BMC of node3 /);

    // Unreachable wins over a failed row: a wrong password elsewhere still exits 3.
    const wrong = await bmc({ users: { USERID: "other" } });
    const both = harness([nodeFor("node2", "worker", wrong), gone], []);
    expect(await powerStatus(both.deps)).toBe(3);
  });

  it("reports a BMC with a wrong password in its row and exits 1; the other rows still print", async () => {
    const b1 = await bmc();
    const b2 = await bmc({ users: { USERID: "other" } });
    const h = harness([nodeFor("node1", "control", b1), nodeFor("node2", "worker", b2)], []);
    expect(await powerStatus(h.deps)).toBe(1);
    expect(h.out.objects[0]).toMatchObject({ node: "node1", powerState: "On", watts: 245 });
    expect(h.out.objects[1]?.error).toMatch(
      /^BMC of node2 .*wrong user name or password for user `USERID` \(HTTP 401\); fix: check `bmc.username`/,
    );
  });

  it("refuses an unknown node and a named node without a BMC before contacting anything", async () => {
    const b1 = await bmc();
    const h = harness([nodeFor("node1", "control", b1), nodeFor("node3", "worker")], []);
    const unknown = await rejection(powerStatus(h.deps, ["node9"]));
    expect(unknown).toBeInstanceOf(InputError);
    expect(unknown.message).toBe("unknown node `node9`: /srv/inventory.yaml has node1, node3");
    const noBmc = await rejection(powerStatus(h.deps, ["node1", "node3"]));
    expect(noBmc.message).toBe("node node3 has no BMC in /srv/inventory.yaml");
    expect((noBmc as InputError).fix).toContain("add a `bmc:` block");
    expect(b1.requests).toHaveLength(0);
  });
});

describe("power off (boundary)", () => {
  it("cordons, drains, then sends GracefulShutdown and waits for Off", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node1", "control"), nodeFor("node2", "worker", b)], [b]);
    expect(await powerOff(h.deps, "node2")).toBe(0);
    expect(h.timeline).toEqual([
      "kubectl cordon node2",
      "kubectl drain node2 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
      "redfish reset GracefulShutdown",
    ]);
    expect(b.state.powerState).toBe("Off");
    expect(b.requestsTo("POST", RESET)[0]?.body).toEqual({ ResetType: "GracefulShutdown" });
    expect(h.out.lines).toEqual([
      "node2: cordon: cordoned: no new pods are scheduled here",
      "node2: drain: drained (DaemonSet pods stay until power-off)",
      "node2: power: GracefulShutdown sent",
      "node2: power: powered off (stays cordoned until `powerstack power on`)",
    ]);
    // --json says how long the power state took (the BMC's 30 ms transition, polled every 10 ms).
    expect(h.out.objects.at(-1)).toMatchObject({ action: "power", waitedSec: expect.any(Number) });
    expect(h.out.objects.at(-1)!.waitedSec as number).toBeLessThan(5);
    expect(b.state.sessions.size).toBe(0);
  });

  it("asks once before changing anything; a no cancels with nothing changed and exit 1", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node2", "worker", b)], [b]);
    const asked: string[] = [];
    h.deps.confirm = async (message) => {
      asked.push(message);
      return false;
    };
    expect(await powerOff(h.deps, "node2")).toBe(1);
    expect(asked).toEqual([
      `powerstack power off node2 will cordon node2, drain it (its pods move to other nodes; DaemonSet pods stay) and shut it down through its BMC (${b.address}, GracefulShutdown). Go ahead?`,
    ]);
    expect(h.timeline).toEqual([]);
    expect(h.out.lines).toEqual(["node2: power: cancelled: nothing was changed"]);
    expect(b.state.powerState).toBe("On");
  });

  it("a yes goes ahead; nothing is asked in check mode, for a node already off, or before a refusal", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node1", "control", b), nodeFor("node2", "worker", b)], [b]);
    let asked = 0;
    h.deps.confirm = async () => {
      asked++;
      return true;
    };
    expect(await powerOff(h.deps, "node2")).toBe(0);
    expect(asked).toBe(1);
    expect(h.timeline.at(-1)).toBe("redfish reset GracefulShutdown");

    expect(await powerOff(h.deps, "node2")).toBe(0); // already off now
    await rejection(powerOff(h.deps, "node1")); // the control node is refused
    h.deps.check = true;
    b.state.powerState = "On";
    expect(await powerOff(h.deps, "node2")).toBe(0);
    expect(asked).toBe(1);
  });

  it("refuses the control node, touching neither the BMC nor the cluster", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node1", "control", b)], [b]);
    const err = await rejection(powerOff(h.deps, "node1"));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("refusing to power off node1: it is the control node");
    expect(b.requests).toHaveLength(0);
    expect(h.cluster.calls).toHaveLength(0);
  });

  it("refuses before draining when the BMC does not allow GracefulShutdown", async () => {
    const b = await bmc({ resetTypes: ["On", "ForceOff", "ForceRestart"] });
    const h = harness([nodeFor("node2", "worker", b)], [b]);
    const err = await rejection(powerOff(h.deps, "node2"));
    expect(err).toBeInstanceOf(RedfishError);
    expect(err.message).toBe(
      `BMC of node2 (${b.address}): POST ${RESET}: reset type GracefulShutdown is not allowed by this BMC (it allows: On, ForceOff, ForceRestart)`,
    );
    expect(h.cluster.calls).toHaveLength(0);
    expect(b.requestsTo("POST", RESET)).toHaveLength(0);
    expect(b.state.powerState).toBe("On");
  });

  it("uncordons again and does not power off when the drain fails", async () => {
    const b = await bmc();
    const cluster = new RecordingCluster((args) =>
      args[0] === "drain"
        ? { code: 1, stderr: "error: Cannot evict pod as it would violate the pod's disruption budget." }
        : undefined,
    );
    const h = harness([nodeFor("node2", "worker", b)], [b], { cluster });
    const err = await rejection(powerOff(h.deps, "node2"));
    expect(err.message).toContain("violate the pod's disruption budget");
    expect(h.timeline).toEqual([
      "kubectl cordon node2",
      "kubectl drain node2 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
      "kubectl uncordon node2",
    ]);
    expect(b.state.powerState).toBe("On");
  });

  it("says the node stays cordoned, with the command, when the drain fails and so does the uncordon", async () => {
    const b = await bmc();
    const cluster = new RecordingCluster((args) =>
      args[0] === "drain" || args[0] === "uncordon"
        ? { code: 1, stderr: "error: the server has asked for the client to provide credentials" }
        : undefined,
    );
    const h = harness([nodeFor("node2", "worker", b)], [b], { cluster });
    await rejection(powerOff(h.deps, "node2"));
    expect(h.out.lines.at(-1)).toBe(
      "node2: drain: drain failed and uncordoning failed too: node2 stays cordoned (no new pods) and powered on; run `k3s kubectl uncordon node2` on the control node",
    );
    expect(b.state.powerState).toBe("On");
  });

  it("in check mode only reads, and says what it would do", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node2", "worker", b)], [b], { check: true });
    expect(await powerOff(h.deps, "node2")).toBe(0);
    expect(h.cluster.kubectlArgs).toEqual([["get", "node", "node2", "-o", "jsonpath={.spec.unschedulable}"]]);
    expect(
      b.requests.every((r) => r.method === "GET" || r.path.endsWith("/Sessions") || r.method === "DELETE"),
    ).toBe(true);
    expect(h.out.lines).toEqual([
      "node2: cordon: would run kubectl cordon node2",
      "node2: drain: would run kubectl drain node2 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
      `node2: power: would send GracefulShutdown to ${b.address} and wait up to 5 s for Off`,
    ]);
    expect(b.state.powerState).toBe("On");
  });

  it("does nothing for a node that is already off", async () => {
    const b = await bmc({ powerState: "Off" });
    const h = harness([nodeFor("node2", "worker", b)], [b]);
    expect(await powerOff(h.deps, "node2")).toBe(0);
    expect(h.out.objects).toEqual([{ node: "node2", action: "power", status: "ok", msg: "already off" }]);
    expect(h.cluster.calls).toHaveLength(0);
  });

  it("gives up, bounded, when the OS ignores the shutdown request, with the fix", async () => {
    const b = await bmc({ ignoreGracefulShutdown: true });
    const h = harness([nodeFor("node2", "worker", b)], [b]);
    h.deps.timing = { ...FAST, offTimeoutSec: 0.2 };
    const err = await rejection(powerOff(h.deps, "node2"));
    expect(err.message).toMatch(/PowerState is still On after 0\.[23] s \(waiting for Off, bound 0\.2 s\)$/);
    expect((err as PowerstackError).exitCode).toBe(1); // the BMC answered: failed, not unreachable
    expect((err as RedfishError).fix).toContain("ACPI");
    expect(b.state.sessions.size).toBe(0); // logged out despite the failure
  });

  it("stops with the credentials error before touching the cluster", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node2", "worker", b)], [b], { vault: { bmc_password: "stale" } });
    const err = (await rejection(powerOff(h.deps, "node2"))) as RedfishError;
    expect(err.kind).toBe("auth");
    expect(err.exitCode).toBe(2);
    expect(h.cluster.calls).toHaveLength(0);
  });
});

describe("power on (boundary)", () => {
  it("sends On, waits for PowerState On, waits for Ready, uncordons the cordoned node", async () => {
    const b = await bmc({ powerState: "Off" });
    const cluster = new RecordingCluster((args) => (args[0] === "get" ? { stdout: "true" } : undefined));
    const h = harness([nodeFor("node2", "worker", b)], [b], { cluster });
    expect(await powerOn(h.deps, "node2")).toBe(0);
    expect(h.timeline).toEqual([
      "redfish reset On",
      "kubectl wait --for=condition=Ready node/node2 --timeout=600s",
      "kubectl get node node2 -o jsonpath={.spec.unschedulable}",
      "kubectl uncordon node2",
    ]);
    expect(b.state.powerState).toBe("On");
    expect(h.out.lines).toEqual([
      "node2: power: On sent",
      "node2: power: powered on",
      "node2: ready: node is Ready",
      "node2: uncordon: uncordoned: pods may be scheduled here again",
    ]);
  });

  it("on a node that is on and schedulable: no reset, no uncordon (idempotent)", async () => {
    const b = await bmc();
    const h = harness([nodeFor("node2", "worker", b)], [b]);
    expect(await powerOn(h.deps, "node2")).toBe(0);
    expect(h.timeline).toEqual([
      "kubectl wait --for=condition=Ready node/node2 --timeout=600s",
      "kubectl get node node2 -o jsonpath={.spec.unschedulable}",
    ]);
    expect(h.out.objects.map((o) => o.status)).toEqual(["ok", "ok", "ok"]);
  });

  it("in check mode only reads, and says what it would do", async () => {
    const b = await bmc({ powerState: "Off" });
    const cluster = new RecordingCluster((args) => (args[0] === "get" ? { stdout: "true" } : undefined));
    const h = harness([nodeFor("node2", "worker", b)], [b], { check: true, cluster });
    expect(await powerOn(h.deps, "node2")).toBe(0);
    expect(h.timeline).toEqual(["kubectl get node node2 -o jsonpath={.spec.unschedulable}"]);
    expect(h.out.lines).toEqual([
      `node2: power: would send On to ${b.address} and wait up to 5 s for On`,
      "node2: ready: would run kubectl wait --for=condition=Ready node/node2 --timeout=600s",
      "node2: uncordon: would run kubectl uncordon node2",
    ]);
    expect(b.state.powerState).toBe("Off");
  });

  it("powers on the control node without asking Kubernetes (kubectl runs on that node)", async () => {
    const b = await bmc({ powerState: "Off" });
    const h = harness([nodeFor("node1", "control", b)], [b]);
    expect(await powerOn(h.deps, "node1")).toBe(0);
    expect(h.timeline).toEqual(["redfish reset On"]);
    expect(h.connects()).toBe(0);
  });

  it("says so when the BMC does not allow On", async () => {
    const b = await bmc({ powerState: "Off", resetTypes: ["ForceOn", "ForceOff"] });
    const h = harness([nodeFor("node2", "worker", b)], [b]);
    const err = (await rejection(powerOn(h.deps, "node2"))) as RedfishError;
    expect(err.kind).toBe("not-allowed");
    expect(err.message).toContain("reset type On is not allowed by this BMC (it allows: ForceOn, ForceOff)");
    expect(h.timeline).toEqual([]);
  });

  it("refuses a node without a BMC", async () => {
    const h = harness([nodeFor("node3", "worker")], []);
    const err = await rejection(powerOn(h.deps, "node3"));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe("node node3 has no BMC in /srv/inventory.yaml");
  });
});
