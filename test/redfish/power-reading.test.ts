/**
 * Watts from each of the three Redfish power models, from the server's own chassis (not the first one
 * listed), and lenient number parsing for what firmware actually sends.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RedfishClient } from "../../src/redfish/client.js";
import { discover } from "../../src/redfish/discovery.js";
import { readInteger, readNumber } from "../../src/redfish/lenient-number.js";
import { readPowerWatts } from "../../src/redfish/power-reading.js";
import { clientFor } from "./helpers.js";
import { startTestBmc, type TestBmc, type TestBmcOptions } from "./server/server.js";

let bmc: TestBmc | undefined;
let client: RedfishClient | undefined;

afterEach(async () => {
  await client?.close();
  await bmc?.stop();
  bmc = client = undefined;
});

async function reading(options: TestBmcOptions) {
  bmc = await startTestBmc(options);
  client = clientFor(bmc);
  const layout = await discover(client);
  const system = await client.get(layout.systems[0]!.path);
  return readPowerWatts(client, layout, system);
}

describe("power reading", () => {
  it("reads Chassis/{id}/Power PowerControl[0].PowerConsumedWatts of the system's chassis", async () => {
    expect(await reading({})).toEqual({
      watts: 245,
      source: "/redfish/v1/Chassis/1U/Power PowerControl[0].PowerConsumedWatts",
    });
    // The riser is listed first but the system links 1U: the riser is never asked for power.
    expect(bmc!.requests.some((r) => r.path.startsWith("/redfish/v1/Chassis/Riser1"))).toBe(false);
  });

  it("accepts a number sent as a string", async () => {
    expect((await reading({ wattsOn: "245.5" }))?.watts).toBe(245.5);
  });

  it("sums the power supplies' input power of a PowerSubsystem", async () => {
    const r = await reading({ powerModel: "PowerSubsystem" });
    expect(r?.watts).toBeCloseTo(245, 6);
    expect(r?.source).toBe(
      "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies sum of 2 InputPowerWatts.Reading",
    );
  });

  it("reads EnvironmentMetrics PowerWatts.Reading", async () => {
    expect(await reading({ powerModel: "EnvironmentMetrics" })).toEqual({
      watts: 245,
      source: "/redfish/v1/Chassis/1U/EnvironmentMetrics PowerWatts.Reading",
    });
  });

  // Issue 19, item 10: the chassis' own reading wins over summed PSU input (before: 937 W over 374 W).
  it("prefers EnvironmentMetrics PowerWatts over PowerControl and PSU input when a BMC has all three", async () => {
    const r = await reading({
      powerModel: ["Power", "PowerSubsystem", "EnvironmentMetrics"],
      wattsBy: { EnvironmentMetrics: 374, Power: 344, PowerSubsystem: 937 },
    });
    expect(r).toEqual({ watts: 374, source: "/redfish/v1/Chassis/1U/EnvironmentMetrics PowerWatts.Reading" });
    expect(bmc!.requestsTo("GET", /PowerSubsystem/)).toHaveLength(0);
  });

  it("prefers PowerControl over summed PSU input when there are no EnvironmentMetrics", async () => {
    const r = await reading({
      powerModel: ["Power", "PowerSubsystem"],
      wattsBy: { Power: 344, PowerSubsystem: 937 },
    });
    expect(r).toEqual({
      watts: 344,
      source: "/redfish/v1/Chassis/1U/Power PowerControl[0].PowerConsumedWatts",
    });
  });

  it("falls back to summed PSU input only without a chassis reading", async () => {
    const r = await reading({ powerModel: ["PowerSubsystem"], wattsBy: { PowerSubsystem: 937 } });
    expect(r?.watts).toBeCloseTo(937, 6);
    expect(r?.source).toBe(
      "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies sum of 2 InputPowerWatts.Reading",
    );
  });

  it("reports no reading when no chassis has one (after trying every chassis)", async () => {
    expect(await reading({ powerModel: "none" })).toBeUndefined();
    expect(bmc!.requestsTo("GET", "/redfish/v1/Chassis/Riser1")).toHaveLength(1);
  });

  it("reads the standby draw of a server that is off", async () => {
    expect((await reading({ powerState: "Off" }))?.watts).toBe(9);
  });
});

describe("lenient numbers", () => {
  it.each([
    [245, 245],
    [3.07, 3.07],
    ["245", 245],
    [" 245.5 ", 245.5],
    ["245 W", 245],
    ["1e3", 1000],
    [null, undefined],
    ["N/A", undefined],
    ["", undefined],
    [Number.NaN, undefined],
    [true, undefined],
    [{ Reading: 1 }, undefined],
  ])("readNumber(%j) = %j", (input, expected) => {
    expect(readNumber(input)).toBe(expected);
  });

  it("rounds a decimal where the schema says integer", () => {
    expect(readInteger(623.0)).toBe(623);
    expect(readInteger("623")).toBe(623);
    expect(readInteger(3.07)).toBe(3);
  });
});
