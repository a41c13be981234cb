/**
 * powerstack's Redfish client against DMTF's Redfish-Mockup-Server (public-rackmount1), a BMC none of
 * us wrote (issue 19), cross-checked with DMTF's `redfishtool`:
 *
 * - Sessions: DMTF answers a login with 204 + `X-Auth-Token` + a relative `Location`. Every login is a
 *   session and every session is deleted: at close, after an error, and by `closeAllSessions()` (the
 *   Ctrl-C path). Counted from the server's own access log. Before issue 19: N logins, 0 deletes.
 * - Reading: the chassis' own `EnvironmentMetrics.PowerWatts` (374 W) wins over `Power.PowerControl`
 *   (344 W), and both agree with what redfishtool reads.
 * - Systems: one system (`437XR1138R2`) is used without `bmc.system_id`; a wrong `system_id` names it.
 *
 * One server for the file (it starts in about a second); the whole file stays well under 30 s.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FactCache } from "../../../src/engine/fact-cache.js";
import { bmc, bmcState, type BmcParams } from "../../../src/modules/bmc.js";
import type { Host } from "../../../src/transport/host.js";
import {
  closeAllSessions,
  openClientCount,
  RedfishClient,
  type RedfishClientOptions,
} from "../../../src/redfish/client.js";
import { chooseSystem, discover } from "../../../src/redfish/discovery.js";
import { RedfishError } from "../../../src/redfish/errors.js";
import { readPowerWatts } from "../../../src/redfish/power-reading.js";
import { checkBmcPower } from "../../../src/verify/bmc-power.js";
import { requireDmtf, startDmtfServer, type DmtfServer } from "./server.js";

const SESSIONS = "/redfish/v1/SessionService/Sessions";
const REDFISHTOOL = "/usr/bin/redfishtool";
const run = requireDmtf();
/** The bmc module reads only local facts (HTTPS from here): nothing may run on a node. */
const noShell: Host = {
  name: "dmtf",
  exec: () => Promise.reject(new Error("the bmc module ran a shell command")),
  close: async () => {},
};

let dmtf: DmtfServer;

beforeAll(async () => {
  if (run) dmtf = await startDmtfServer();
});
afterAll(async () => {
  await dmtf?.stop();
});

function client(overrides: Partial<RedfishClientOptions> = {}): RedfishClient {
  return new RedfishClient({
    node: "dmtf",
    address: dmtf.address,
    username: "root",
    password: "any-Passw0rd",
    insecure: true,
    timeoutMs: 5_000,
    retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
    ...overrides,
  });
}

/** Logins and logouts so far, once the access log has caught up with the answers already received. */
async function sessionCounts(): Promise<{ logins: number; deletes: number }> {
  let last = -1;
  while (last !== dmtf.requests.length) {
    last = dmtf.requests.length;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    logins: dmtf.requestsTo("POST", SESSIONS).length,
    deletes: dmtf.requestsTo("DELETE", new RegExp(`^${SESSIONS}/.+`)).filter((r) => r.status === 204).length,
  };
}

/** Sessions the server holds besides the one its mockup ships with and the one this look opens. */
async function openOnServer(): Promise<number> {
  const c = client();
  try {
    const sessions = await c.get(SESSIONS);
    return (sessions["Members@odata.count"] as number) - 2;
  } finally {
    await c.close();
  }
}

function redfishtool(args: string[]): Promise<Record<string, unknown>> {
  const all = ["-r", dmtf.hostPort, "-S", "Always", "-n", "-T", "10", "-u", "root", "-p", "x", ...args];
  return new Promise((resolve, reject) => {
    execFile(REDFISHTOOL, all, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redfishtool ${args.join(" ")}: ${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

describe.skipIf(!run)("DMTF Redfish-Mockup-Server", () => {
  it("a 204 login with a relative Location is a session, and it is deleted at close", async () => {
    const before = await sessionCounts();
    const c = client();
    expect(await c.login()).toBe("session");
    const layout = await discover(c);
    expect(chooseSystem(c, layout)?.id).toBe("437XR1138R2");
    await c.close();
    const after = await sessionCounts();
    expect(after.logins - before.logins).toBe(1);
    expect(after.deletes - before.deletes).toBe(1);
    // The DELETE went to the relative Location, resolved against the BMC's address.
    expect(dmtf.requestsTo("DELETE", new RegExp(`^${SESSIONS}/1234567890ABCDEF\\d+$`)).length).toBe(
      after.deletes,
    );
  });

  it("up's check, verify's check and an error midway: as many deletes as logins, none left open", async () => {
    const before = await sessionCounts();
    // up: the bmc module's look at the BMC (a local fact, its own client, closed after), then its plan.
    const p: BmcParams = { address: dmtf.address, client: () => client(), enableIpmi: true };
    const cache = new FactCache(noShell);
    await cache.read([bmcState.of(p)]);
    const state = cache.get(bmcState.of(p));
    expect(state.failure).toBeUndefined();
    expect(state.summary).toBe("Redfish 1.15.0, session auth, 374 W, IPMI over LAN enabled");
    expect(bmc.plan({ bmc: state }, p)).toEqual([]);
    const verify = client();
    try {
      expect((await checkBmcPower(verify)).status).toBe("pass");
    } finally {
      await verify.close();
    }
    const failing = client();
    try {
      await expect(failing.get("/redfish/v1/Chassis/NoSuchChassis")).rejects.toThrow(/HTTP 404/);
    } finally {
      await failing.close();
    }
    const after = await sessionCounts();
    expect(after.logins - before.logins).toBe(3);
    expect(after.deletes - before.deletes).toBe(3);
    expect(await openOnServer()).toBe(0);
  });

  it("closeAllSessions() (the Ctrl-C path) logs out every client still open", async () => {
    const before = await sessionCounts();
    const clients = [client(), client(), client()];
    await Promise.all(clients.map((c) => c.login()));
    expect(await openOnServer()).toBe(3);
    expect(openClientCount()).toBe(3);
    const started = Date.now();
    expect(await closeAllSessions()).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(openClientCount()).toBe(0);
    const after = await sessionCounts();
    expect(after.deletes - before.deletes).toBe(after.logins - before.logins);
    expect(await openOnServer()).toBe(0);
    // A closed client refuses further use instead of logging in again.
    await expect(clients[0]!.get("/redfish/v1/Systems")).rejects.toThrow(/after close/);
  });

  it("prefers the chassis' EnvironmentMetrics (374 W) over PowerControl (344 W), as redfishtool reads them", async () => {
    const c = client();
    try {
      const layout = await discover(c);
      const system = await c.get(chooseSystem(c, layout)!.path);
      expect(await readPowerWatts(c, layout, system)).toEqual({
        watts: 374,
        source: "/redfish/v1/Chassis/1U/EnvironmentMetrics PowerWatts.Reading",
      });
    } finally {
      await c.close();
    }
    if (!existsSync(REDFISHTOOL)) return;
    const env = await redfishtool(["raw", "GET", "/redfish/v1/Chassis/1U/EnvironmentMetrics"]);
    expect((env.PowerWatts as { Reading: number }).Reading).toBe(374);
    const power = await redfishtool(["Chassis", "-I", "1U", "Power"]);
    expect((power.PowerControl as Array<{ PowerConsumedWatts: number }>)[0]?.PowerConsumedWatts).toBe(344);
  });

  it("a bmc.system_id the BMC does not list is an error naming the systems it does list", async () => {
    const c = client({ systemId: "1" });
    try {
      const layout = await discover(c);
      let err: unknown;
      try {
        chooseSystem(c, layout);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RedfishError);
      expect((err as RedfishError).message).toContain(
        "`bmc.system_id: 1` is not among the BMC's systems (437XR1138R2)",
      );
      expect((err as RedfishError).fix).toBe("set `system_id` in node dmtf's `bmc:` to one of: 437XR1138R2");
      expect(chooseSystem(client({ systemId: "437XR1138R2" }), layout)?.id).toBe("437XR1138R2");
    } finally {
      await c.close();
    }
  });
});
