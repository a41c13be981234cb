/**
 * A node's BMC answers Redfish with a power reading: the service root, a login with the vault's
 * password, then the reading Kepler's platform power is built from (src/redfish/power-reading.ts). Read
 * only: nothing is changed on the BMC, IPMI over LAN included (that is `up`'s business).
 */
import { formatWatts } from "../redfish/bmc-check.js";
import type { RedfishClient } from "../redfish/client.js";
import { chooseSystem, discover } from "../redfish/discovery.js";
import { readPowerWatts } from "../redfish/power-reading.js";
import { stringProp } from "../redfish/resource.js";
import { fail, pass, type Verdict } from "./check.js";

export async function checkBmcPower(client: RedfishClient): Promise<Verdict> {
  const root = await client.serviceRoot();
  const mode = await client.login();
  const layout = await discover(client);
  // One rule with `up` and `power`: `bmc.system_id` chooses among several systems, else they are an error.
  const chosen = chooseSystem(client, layout);
  const system = chosen ? await client.get(chosen.path) : undefined;
  const reading = await readPowerWatts(client, layout, system);
  const version = stringProp(root, "RedfishVersion");
  if (!reading) {
    return fail(
      `Redfish ${version ?? "(no version)"} answers, but none of its ${layout.chassis.length} chassis has a power reading (Power, PowerSubsystem or EnvironmentMetrics)`,
      "update the BMC firmware: Kepler's platform power needs this reading",
    );
  }
  const state = stringProp(system, "PowerState");
  return pass(
    `${formatWatts(reading.watts)} (${reading.source}; Redfish ${version ?? "?"}, ${mode} auth${state && state !== "On" ? `, system ${state}` : ""})`,
  );
}
