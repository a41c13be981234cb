/**
 * Cross-check of the Redfish TEST SERVER with DMTF's own client, `redfishtool` (Debian package): if
 * DMTF's tool can log in, enumerate, read power, reset and patch with etags against it, the server speaks
 * Redfish and not merely "what powerstack's client expects". Skipped where redfishtool is not installed.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_PASSWORD, DEFAULT_USER, startTestBmc, type TestBmc } from "./server/server.js";

const REDFISHTOOL = "/usr/bin/redfishtool";

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

function redfishtool(bmc: TestBmc, args: string[]): Promise<ToolResult> {
  // -S Always: https for every request; -n: ignore any proxy of the environment; -T: per-request timeout.
  const all = ["-r", bmc.hostPort, "-S", "Always", "-n", "-T", "10", ...args];
  return new Promise((resolve) => {
    execFile(REDFISHTOOL, all, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const creds = (password = DEFAULT_PASSWORD) => ["-u", DEFAULT_USER, "-p", password];

function json(r: ToolResult): Record<string, unknown> {
  expect(r.code, `redfishtool failed: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe.skipIf(!existsSync(REDFISHTOOL))("Redfish test server, cross-checked with DMTF redfishtool", () => {
  let bmc: TestBmc;
  beforeEach(async () => {
    bmc = await startTestBmc({ transitionMs: 20 });
  });
  afterEach(async () => {
    await bmc.stop();
  });

  it("serves the service root without credentials", async () => {
    const root = json(await redfishtool(bmc, ["root"]));
    expect(root.RedfishVersion).toBe("1.15.0");
    expect(root.Links).toEqual({ Sessions: { "@odata.id": "/redfish/v1/SessionService/Sessions" } });
    expect(bmc.requests.every((r) => r.auth === "none")).toBe(true);
  });

  it("logs in with a session, lists Systems with a non-1 id, and logs out", async () => {
    const systems = json(await redfishtool(bmc, [...creds(), "-A", "Session", "Systems"]));
    expect(systems.Members).toEqual([{ "@odata.id": "/redfish/v1/Systems/437XR1138R2" }]);
    expect(bmc.requestsTo("POST", "/redfish/v1/SessionService/Sessions")[0]?.status).toBe(201);
    expect(bmc.requestsTo("GET", "/redfish/v1/Systems")[0]?.auth).toBe("session");
    // redfishtool deletes the session it created: the server must accept that DELETE.
    expect(bmc.requestsTo("DELETE", /\/Sessions\//)[0]?.status).toBe(204);
    expect(bmc.state.sessions.size).toBe(0);
  });

  it("reads the single system with Basic auth (-1) and its PowerState", async () => {
    const system = json(await redfishtool(bmc, [...creds(), "-A", "Basic", "Systems", "-1"]));
    expect(system.Id).toBe("437XR1138R2");
    expect(system.PowerState).toBe("On");
    expect(
      bmc.requests
        .filter((r) => r.path !== "/redfish/v1" && r.path !== "/redfish")
        .every((r) => r.auth === "basic"),
    ).toBe(true);
  });

  it("rejects a wrong password (session and Basic)", async () => {
    expect((await redfishtool(bmc, [...creds("wrong"), "-A", "Session", "Systems"])).code).not.toBe(0);
    expect((await redfishtool(bmc, [...creds("wrong"), "-A", "Basic", "Systems"])).code).not.toBe(0);
    expect(bmc.requestsTo("POST", "/redfish/v1/SessionService/Sessions")[0]?.status).toBe(401);
    expect(bmc.requestsTo("GET", "/redfish/v1/Systems")[0]?.status).toBe(401);
  });

  it("lists two chassis and reads the power of the server's chassis (not id 1)", async () => {
    const chassis = json(await redfishtool(bmc, [...creds(), "Chassis"]));
    expect(chassis["Members@odata.count"]).toBe(2);
    const power = json(await redfishtool(bmc, [...creds(), "Chassis", "-I", "1U", "Power"]));
    expect((power.PowerControl as Array<Record<string, unknown>>)[0]?.PowerConsumedWatts).toBe(245);
    const reading = json(
      await redfishtool(bmc, [...creds(), "Chassis", "-I", "1U", "getPowerReading", "consumed"]),
    );
    expect(reading).toEqual({ PowerConsumedWatts: 245 });
  });

  it("resets the system through its AllowableValues: GracefulShutdown turns it off, PowerCycle is refused", async () => {
    expect((await redfishtool(bmc, [...creds(), "Systems", "-1", "reset", "GracefulShutdown"])).code).toBe(0);
    expect(
      bmc.requestsTo("POST", "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset")[0]?.body,
    ).toEqual({ ResetType: "GracefulShutdown" });
    await new Promise((r) => setTimeout(r, 60));
    expect(json(await redfishtool(bmc, [...creds(), "Systems", "-1"])).PowerState).toBe("Off");
    // Not in ResetType@Redfish.AllowableValues: redfishtool refuses before sending.
    const cycle = await redfishtool(bmc, [...creds(), "Systems", "-1", "reset", "PowerCycle"]);
    expect(cycle.code).not.toBe(0);
    expect(bmc.requestsTo("POST", /ComputerSystem\.Reset$/)).toHaveLength(1);
  });

  it("patches IPMI over LAN with the etag redfishtool read (If-Match), via the manager's NetworkProtocol", async () => {
    const np = json(await redfishtool(bmc, [...creds(), "Managers", "-I", "BMC", "NetworkProtocol"]));
    expect(np.IPMI).toEqual({ ProtocolEnabled: false, Port: 623 });
    const patched = await redfishtool(bmc, [
      ...creds(),
      "raw",
      "PATCH",
      "/redfish/v1/Managers/BMC/NetworkProtocol",
      "-d",
      '{"IPMI":{"ProtocolEnabled":true}}',
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    const patch = bmc.requestsTo("PATCH", "/redfish/v1/Managers/BMC/NetworkProtocol")[0];
    expect(patch?.ifMatch).toBe('W/"1"');
    expect(patch?.status).toBe(200);
    expect(bmc.state.ipmiEnabled).toBe(true);
  });

  it("answers the session limit with SessionLimitExceeded, which redfishtool reports as a failed login", async () => {
    await bmc.stop();
    bmc = await startTestBmc({ sessionLimit: 0 });
    const r = await redfishtool(bmc, [...creds(), "-A", "Session", "Systems"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Session Login Failed|503/i);
  });
});
