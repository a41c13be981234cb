/**
 * The `up` task for a BMC: reachable, credentials valid, a power reading, IPMI over LAN enabled by an
 * etag-guarded PATCH only when off and asked for, and `check` changing nothing. `checkBmc` is the whole
 * look-then-switch in one call; `up` runs the same two halves (readBmc, switchIpmiOn) as the bmc module,
 * whose fact, plan and apply are tested at the end through the runner.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Runner } from "../../src/engine/runner.js";
import { task, type TaskResult } from "../../src/engine/types.js";
import { bmc as bmcModule, type BmcParams } from "../../src/modules/bmc.js";
import { checkBmc } from "../../src/redfish/bmc-check.js";
import type { RedfishClient, RedfishClientOptions } from "../../src/redfish/client.js";
import { closedPort, clientFor } from "./helpers.js";
import { DEFAULT_PASSWORD, startTestBmc, type TestBmc, type TestBmcOptions } from "./server/server.js";

let bmc: TestBmc | undefined;
let client: RedfishClient | undefined;

afterEach(async () => {
  await client?.close();
  await bmc?.stop();
  bmc = client = undefined;
});

async function setup(options: TestBmcOptions = {}, overrides: Partial<RedfishClientOptions> = {}) {
  bmc = await startTestBmc(options);
  client = clientFor(bmc, overrides);
  return { bmc, client };
}

const NP = "/redfish/v1/Managers/BMC/NetworkProtocol";

describe("checkBmc", () => {
  it("is ok with the power reading when IPMI is not asked for, and changes nothing", async () => {
    const { bmc, client } = await setup();
    const r = await checkBmc(client, { enableIpmi: false, check: false });
    expect(r).toEqual({ status: "ok", msg: "Redfish 1.15.0, session auth, 245 W", watts: 245 });
    expect(bmc.requests.some((x) => x.method === "PATCH")).toBe(false);
    expect(bmc.requestsTo("GET", NP)).toHaveLength(0);
  });

  it("enables IPMI over LAN with a PATCH carrying the etag, then reads it back", async () => {
    const { bmc, client } = await setup();
    const r = await checkBmc(client, { enableIpmi: true, check: false });
    expect(r).toEqual({
      status: "changed",
      msg: "Redfish 1.15.0, session auth, 245 W, enabled IPMI over LAN",
      watts: 245,
    });
    const patches = bmc.requestsTo("PATCH", NP);
    expect(patches.map((p) => [p.ifMatch, p.body, p.status])).toEqual([
      ['W/"1"', { IPMI: { ProtocolEnabled: true } }, 200],
    ]);
    expect(bmc.state.ipmiEnabled).toBe(true);
  });

  it("is ok and sends no PATCH when IPMI is already on (the rerun)", async () => {
    const { bmc, client } = await setup({ ipmiEnabled: true });
    const r = await checkBmc(client, { enableIpmi: true, check: false });
    expect(r.status).toBe("ok");
    expect(r.msg).toContain("IPMI over LAN enabled");
    expect(bmc.requestsTo("PATCH", NP)).toHaveLength(0);
  });

  it("in check mode says it would enable IPMI and changes nothing", async () => {
    const { bmc, client } = await setup();
    const r = await checkBmc(client, { enableIpmi: true, check: true });
    expect(r).toEqual({
      status: "changed",
      msg: `Redfish 1.15.0, session auth, 245 W, would enable IPMI over LAN (PATCH ${NP})`,
      watts: 245,
    });
    expect(bmc.requests.some((x) => x.method === "PATCH")).toBe(false);
    expect(bmc.state.ipmiEnabled).toBe(false);
  });

  it("re-reads and retries once when someone changed NetworkProtocol in between (412)", async () => {
    const { bmc, client } = await setup();
    bmc.inject({ kind: "concurrent-change", method: "PATCH", path: NP });
    const r = await checkBmc(client, { enableIpmi: true, check: false });
    expect(r.status).toBe("changed");
    expect(bmc.requestsTo("PATCH", NP).map((p) => p.status)).toEqual([412, 200]);
  });

  it("fails clearly when the etag is stale twice, leaving IPMI off", async () => {
    const { bmc, client } = await setup();
    bmc.inject({ kind: "concurrent-change", method: "PATCH", path: NP, times: 2 });
    const r = await checkBmc(client, { enableIpmi: true, check: false });
    expect(r.status).toBe("failed");
    expect(r.msg).toContain(`PATCH ${NP}: the resource changed again`);
    expect(r.msg).toContain("(fix: something else");
    expect(r.watts).toBe(245);
    expect(bmc.state.ipmiEnabled).toBe(false);
  });

  it("accepts a 204 to the PATCH", async () => {
    const { bmc, client } = await setup({ patchNoContent: true });
    expect((await checkBmc(client, { enableIpmi: true, check: false })).status).toBe("changed");
    expect(bmc.requestsTo("PATCH", NP)[0]?.status).toBe(204);
  });

  it("works with Basic auth on a BMC without sessions", async () => {
    const { client } = await setup({ sessions: false });
    expect(await checkBmc(client, { enableIpmi: false, check: false })).toMatchObject({
      status: "ok",
      msg: "Redfish 1.15.0, Basic auth, 245 W",
    });
  });

  it("fails on a wrong password with the fix, without the password", async () => {
    const { client } = await setup({}, { password: "wrong-password" });
    const r = await checkBmc(client, { enableIpmi: true, check: false });
    expect(r.status).toBe("failed");
    expect(r.msg).toMatch(
      /^BMC of node2 \(https:\/\/127\.0\.0\.1:\d+\): POST \/redfish\/v1\/SessionService\/Sessions: wrong user name or password for user `USERID` \(HTTP 401\) \(fix: check `bmc.username` and the password in vault key `bmc_password`/,
    );
    expect(r.msg).not.toContain("wrong-password");
    expect(r.msg).not.toContain(DEFAULT_PASSWORD);
  });

  it("fails when the BMC has no power reading", async () => {
    const { client } = await setup({ powerModel: "none" });
    const r = await checkBmc(client, { enableIpmi: false, check: false });
    expect(r.status).toBe("failed");
    expect(r.msg).toContain("no power reading: none of 2 chassis");
  });

  it("fails (does not throw) when the BMC is unreachable", async () => {
    const port = await closedPort();
    bmc = await startTestBmc();
    client = clientFor(bmc, { address: `https://127.0.0.1:${port}`, retry: { attempts: 1 } });
    const r = await checkBmc(client, { enableIpmi: false, check: false });
    expect(r.status).toBe("failed");
    expect(r.msg).toContain("GET /redfish/v1/: unreachable: ECONNREFUSED");
    expect(r.msg).toContain("(fix: check `bmc.address`");
  });
});

/** The bmc module as `up --only redfish` runs it: a local play, the BMC's state read as a local fact. */
describe("the bmc module (up's task, through the runner)", () => {
  async function up(p: BmcParams, check = false): Promise<TaskResult> {
    const results: TaskResult[] = [];
    const runner = new Runner({
      check,
      forks: 1,
      connect: () => Promise.reject(new Error("a local play opens no connection")),
      reporter: { playStart() {}, taskResult: (r) => void results.push(r), playEnd() {} },
    });
    await runner.runPlay({
      name: "BMCs",
      hosts: ["node2"],
      local: true,
      tasksFor: () => ({ tasks: [task({ name: "BMC", module: bmcModule, params: p })] }),
    });
    await runner.close();
    expect(results).toHaveLength(1);
    return results[0]!;
  }
  const params = (b: TestBmc, enableIpmi: boolean, overrides: Partial<RedfishClientOptions> = {}) => ({
    address: b.address,
    client: () => clientFor(b, overrides),
    enableIpmi,
  });

  it("plans the PATCH (check mode sends none), applies exactly it, and the rerun is ok", async () => {
    bmc = await startTestBmc();
    const want = `Redfish 1.15.0, session auth, 245 W, enable IPMI over LAN (PATCH ${NP})`;
    const checked = await up(params(bmc, true), true);
    expect(checked).toMatchObject({ status: "changed", changes: [{ kind: "enable-ipmi", summary: want }] });
    expect(bmc.requests.some((x) => x.method === "PATCH")).toBe(false);

    const applied = await up(params(bmc, true));
    expect(applied).toMatchObject({ status: "changed", changes: [{ summary: want }] });
    expect(bmc.requestsTo("PATCH", NP).map((p) => [p.ifMatch, p.status])).toEqual([['W/"1"', 200]]);
    expect(bmc.state.ipmiEnabled).toBe(true);

    expect(await up(params(bmc, true))).toMatchObject({ status: "ok", changes: [] });
    expect(bmc.requestsTo("PATCH", NP)).toHaveLength(1);
    // Every look and every switch logged its session out: BMCs allow only a few.
    expect(bmc.state.sessions.size).toBe(0);
  });

  it("IPMI not asked for: ok with the reading, and NetworkProtocol is not even read", async () => {
    bmc = await startTestBmc();
    expect(await up(params(bmc, false))).toMatchObject({ status: "ok", changes: [] });
    expect(bmc.requestsTo("GET", NP)).toHaveLength(0);
  });

  it("a wrong password fails the task with the fix, without the password", async () => {
    bmc = await startTestBmc();
    const r = await up(params(bmc, true, { password: "wrong-password" }));
    expect(r.status).toBe("failed");
    expect(r.msg).toMatch(/wrong user name or password for user `USERID` \(HTTP 401\)/);
    expect(r.msg).toMatch(/check `bmc.username` and the password in vault key `bmc_password`/);
    expect(r.msg).not.toContain("wrong-password");
    expect(r.msg).not.toContain(DEFAULT_PASSWORD);
    expect(bmc.requests.some((x) => x.method === "PATCH")).toBe(false);
  });
});
