/**
 * bmc.power-reading against the Redfish test BMC (HTTPS on loopback, sessions, DMTF mockup ids), through
 * the production client factory: a reading, no reading, a wrong password, no BMC listening, a node
 * without a BMC. Read only: no PATCH or POST other than the session, and the session is deleted.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { NodeSpec } from "../../src/inventory/types.js";
import { checkBmcGroup } from "../../src/verify/bmc-group.js";
import { closedPort, nodeFor, testClientFactory } from "../redfish/helpers.js";
import { startTestBmc, type TestBmc } from "../redfish/server/server.js";

const bmcs: TestBmc[] = [];
afterEach(async () => {
  await Promise.all(bmcs.splice(0).map((b) => b.stop()));
});

async function bmc(options: Parameters<typeof startTestBmc>[0] = {}) {
  const b = await startTestBmc(options);
  bmcs.push(b);
  return b;
}

describe("bmc.power-reading", () => {
  it("passes with the reading and where it came from, changes nothing, and closes its session", async () => {
    const b = await bmc();
    const [r] = await checkBmcGroup([nodeFor("w1", "worker", b)], testClientFactory(), 10_000);
    expect(r).toMatchObject({
      name: "bmc.power-reading",
      scope: "w1",
      status: "pass",
      detail:
        "245 W (/redfish/v1/Chassis/1U/Power PowerControl[0].PowerConsumedWatts; Redfish 1.15.0, session auth)",
    });
    expect(b.requests.filter((q) => q.method === "PATCH")).toEqual([]);
    expect(b.requests.filter((q) => q.method === "POST").map((q) => q.path)).toEqual([
      "/redfish/v1/SessionService/Sessions",
    ]);
    expect(b.requests.filter((q) => q.method === "DELETE")).toHaveLength(1);
    expect(b.state.sessions.size).toBe(0);
  });

  it("names a powered-off system beside its standby reading", async () => {
    const b = await bmc({ powerState: "Off" });
    const [r] = await checkBmcGroup([nodeFor("w1", "worker", b)], testClientFactory(), 10_000);
    expect(r!.detail).toMatch(/^9 W \(.*, system Off\)$/);
  });

  it("fails a BMC without any power reading, with the fix", async () => {
    const b = await bmc({ powerModel: "none" });
    const [r] = await checkBmcGroup([nodeFor("w1", "worker", b)], testClientFactory(), 10_000);
    expect(r).toMatchObject({
      status: "fail",
      detail:
        "Redfish 1.15.0 answers, but none of its 2 chassis has a power reading (Power, PowerSubsystem or EnvironmentMetrics)",
      fix: "update the BMC firmware: Kepler's platform power needs this reading",
    });
  });

  it("fails a wrong password naming the vault key (never the value), and an absent BMC as unreachable", async () => {
    const b = await bmc();
    const wrong = testClientFactory({ bmc_password: "not-the-password" });
    const [r] = await checkBmcGroup([nodeFor("w1", "worker", b)], wrong, 10_000);
    expect(r!.status).toBe("fail");
    expect(r!.unreachable).toBeUndefined();
    expect(r!.detail).toContain("BMC of w1");
    expect(r!.fix).toContain("vault key `bmc_password`");
    expect(JSON.stringify(r)).not.toContain("not-the-password");

    const port = await closedPort();
    const gone: NodeSpec = nodeFor("w2", "worker", b, { address: `https://127.0.0.1:${port}` });
    const [u] = await checkBmcGroup([gone], testClientFactory(), 10_000);
    expect(u).toMatchObject({ status: "fail", unreachable: true });
    expect(u!.detail).toContain(`BMC of w2 (https://127.0.0.1:${port})`);
  });

  it("skips a node without a BMC, and checks several BMCs at once", async () => {
    const [a, c] = await Promise.all([bmc(), bmc({ wattsOn: "310.5" })]);
    const r = await checkBmcGroup(
      [nodeFor("ctl", "control", a), nodeFor("w1", "worker"), nodeFor("w2", "worker", c)],
      testClientFactory(),
      10_000,
    );
    expect(r.map((x) => [x.scope, x.status, x.detail.split(" (")[0]])).toEqual([
      ["ctl", "pass", "245 W"],
      ["w1", "skip", "no bmc in the inventory"],
      ["w2", "pass", "310.5 W"],
    ]);
  });
});
