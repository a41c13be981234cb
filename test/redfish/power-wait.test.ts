/**
 * Waiting for a PowerState (issue 19, items 2, 3 and 5), on a fake clock against the Redfish test BMC: the
 * wait polls until its deadline with the last poll AT the deadline, reports the time actually waited, and
 * a state that never changes is a failed action (exit 1), not an unreachable BMC (exit 3). After a failed
 * power-off the node stays cordoned and drained, and the output says so with the command that undoes it.
 */
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { RedfishError } from "../../src/redfish/errors.js";
import { powerOff, type PowerDeps } from "../../src/redfish/power-command.js";
import { PowerStateTimeout, waitForPowerState, type PowerClock } from "../../src/redfish/system-power.js";
import {
  clientFor,
  nodeFor,
  RecordingCluster,
  RecordingOutput,
  rejection,
  testBmcs,
  testClientFactory,
} from "./helpers.js";
import type { TestBmc } from "./server/server.js";

const SYSTEM = "/redfish/v1/Systems/437XR1138R2";
const RESET = `${SYSTEM}/Actions/ComputerSystem.Reset`;

const bmc = testBmcs();

/** Time moves only when the code under test sleeps; every sleep is recorded. */
class FakeClock implements PowerClock {
  t = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

/** Fake-clock times at which the system's PowerState was read. */
function pollTimes(b: TestBmc, clock: FakeClock): number[] {
  const times: number[] = [];
  b.onRequest.push((r) => {
    if (r.method === "GET" && r.path === SYSTEM) times.push(clock.now());
  });
  return times;
}

describe("waitForPowerState on a fake clock", () => {
  it.each([
    [3, [0, 3_000]],
    [7, [0, 5_000, 7_000]],
    [12, [0, 5_000, 10_000, 12_000]],
  ])(
    "--wait-timeout %i with 5 s polls: polls until the deadline, the last poll at it, and reports the time waited",
    async (timeoutSec, expectedPolls) => {
      const b = await bmc(); // stays On: nothing asked it to change
      const client = clientFor(b);
      const clock = new FakeClock();
      const polls = pollTimes(b, clock);
      try {
        const err = await rejection(
          waitForPowerState(client, SYSTEM, "Off", { timeoutMs: timeoutSec * 1000, pollMs: 5_000 }, clock),
        );
        expect(polls).toEqual(expectedPolls);
        expect(clock.t).toBe(timeoutSec * 1000);
        expect(err).toBeInstanceOf(PowerStateTimeout);
        expect(err.message).toBe(
          `BMC of node2 (${b.address}): GET ${SYSTEM}: PowerState is still On after ${timeoutSec} s (waiting for Off, bound ${timeoutSec} s)`,
        );
        expect((err as PowerStateTimeout).waitedMs).toBe(timeoutSec * 1000);
        // The BMC answered every time: a failed action (1), not "unreachable" (3).
        expect((err as PowerStateTimeout).exitCode).toBe(ExitCode.failed);
        expect(err).not.toBeInstanceOf(RedfishError);
      } finally {
        await client.close();
      }
    },
  );

  it("the same for On, and returns as soon as the state is reached", async () => {
    const off = await bmc({ powerState: "Off" });
    const client = clientFor(off);
    const clock = new FakeClock();
    try {
      const err = await rejection(
        waitForPowerState(client, SYSTEM, "On", { timeoutMs: 4_000, pollMs: 5_000 }, clock),
      );
      expect(err.message).toContain("PowerState is still Off after 4 s (waiting for On, bound 4 s)");
      expect((err as PowerStateTimeout).fix).toContain("console and event log");
      expect(clock.sleeps).toEqual([4_000]);

      const idle = new FakeClock();
      expect(await waitForPowerState(client, SYSTEM, "Off", { timeoutMs: 4_000, pollMs: 5_000 }, idle)).toBe(
        0,
      );
      expect(idle.sleeps).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe("a power-off that does not reach Off", () => {
  it("exits 1, leaves the node cordoned and drained, and says so with the command that undoes it", async () => {
    const b = await bmc({ ignoreGracefulShutdown: true });
    const cluster = new RecordingCluster();
    const timeline: string[] = [];
    cluster.onCall.push((c) => timeline.push(`kubectl ${c.args.join(" ")}`));
    b.onRequest.push((r) => {
      if (r.method === "POST" && r.path === RESET) timeline.push("redfish reset");
    });
    const clock = new FakeClock();
    const polls = pollTimes(b, clock);
    const out = new RecordingOutput();
    const deps: PowerDeps = {
      nodes: [nodeFor("node1", "control"), nodeFor("node2", "worker", b)],
      inventoryFile: "/srv/inventory.yaml",
      clientFor: testClientFactory(),
      cluster: async () => cluster,
      out,
      check: false,
      timing: { offTimeoutSec: 7, pollMs: 5_000 },
      clock,
    };
    const err = await rejection(powerOff(deps, "node2"));
    expect((err as PowerStateTimeout).exitCode).toBe(1);
    expect(err.message).toContain("PowerState is still On after 7 s (waiting for Off, bound 7 s)");
    // The first read is the state check before anything is done; then the wait's polls, 0, 5 and 7 s.
    expect(polls).toEqual([0, 0, 5_000, 7_000]);
    // Nothing undid the drain: no uncordon.
    expect(timeline).toEqual([
      "kubectl cordon node2",
      "kubectl drain node2 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
      "redfish reset",
    ]);
    expect(out.lines.at(-1)).toBe(
      "node2: power: power-off failed: node2 stays cordoned and drained (its pods run on other nodes, no new ones are scheduled here); to take it back into service run `powerstack power on node2` (waits for Ready, then uncordons) or `k3s kubectl uncordon node2` on the control node",
    );
    expect(out.objects.at(-1)).toMatchObject({ node: "node2", action: "power", status: "failed" });
    expect(b.state.sessions.size).toBe(0);
  });

  it("says so when the BMC refuses the reset after the drain, too", async () => {
    const b = await bmc();
    b.inject({ kind: "status", status: 500, method: "POST", path: RESET, times: 10 });
    const out = new RecordingOutput();
    const deps: PowerDeps = {
      nodes: [nodeFor("node2", "worker", b)],
      inventoryFile: "/srv/inventory.yaml",
      clientFor: testClientFactory(),
      cluster: async () => new RecordingCluster(),
      out,
      check: false,
      clock: new FakeClock(),
    };
    await rejection(powerOff(deps, "node2"));
    expect(out.lines.at(-1)).toContain("power-off failed: node2 stays cordoned and drained");
    expect(out.lines.at(-1)).toContain("`powerstack power on node2`");
  });
});
