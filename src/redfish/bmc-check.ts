/**
 * The Redfish step of `up`, as one task per node: the BMC answers, the credentials work, a power reading
 * is available (Kepler's platform power depends on it), and IPMI over LAN is on where the inventory asks.
 * It looks before it leaps: only an IPMI switch that is off is patched, and `check` only says it would.
 */
import { describeError } from "../errors.js";
import type { RedfishClient } from "./client.js";
import { chooseSystem, discover } from "./discovery.js";
import { enableIpmiOverLan, readIpmiOverLan } from "./ipmi-over-lan.js";
import { readPowerWatts } from "./power-reading.js";
import { stringProp } from "./resource.js";

export interface BmcCheckOptions {
  /** The inventory's `ipmi_over_lan`. */
  enableIpmi: boolean;
  /** `--check`: report what would change, change nothing. */
  check: boolean;
}

export interface BmcCheckResult {
  status: "ok" | "changed" | "failed";
  msg: string;
  watts?: number;
}

export async function checkBmc(
  client: RedfishClient,
  { enableIpmi, check }: BmcCheckOptions,
): Promise<BmcCheckResult> {
  const facts: string[] = [];
  let watts: number | undefined;
  try {
    const root = await client.serviceRoot();
    facts.push(`Redfish ${stringProp(root, "RedfishVersion") ?? "(version not given)"}`);

    const mode = await client.login();
    facts.push(mode === "session" ? "session auth" : "Basic auth");

    const layout = await discover(client);
    // The system's links say which chassis and manager are its own; a BMC without systems is still checked.
    // Several systems: `bmc.system_id` chooses, else this fails naming them (the rule `power` follows).
    const chosen = chooseSystem(client, layout);
    const system = chosen ? await client.get(chosen.path) : undefined;
    if (chosen && layout.systems.length > 1) facts.push(`system ${chosen.id}`);

    const reading = await readPowerWatts(client, layout, system);
    if (!reading) {
      return {
        status: "failed",
        msg: `${facts.join(", ")}; no power reading: none of ${layout.chassis.length} chassis has Power, PowerSubsystem or EnvironmentMetrics readings (fix: update the BMC firmware; Kepler's platform power needs this reading)`,
      };
    }
    watts = reading.watts;
    facts.push(`${formatWatts(reading.watts)}`);

    if (!enableIpmi) return { status: "ok", msg: facts.join(", "), watts };

    const ipmi = await readIpmiOverLan(client, layout, system);
    if (ipmi.enabled) return { status: "ok", msg: `${facts.join(", ")}, IPMI over LAN enabled`, watts };
    if (check)
      return {
        status: "changed",
        msg: `${facts.join(", ")}, would enable IPMI over LAN (PATCH ${ipmi.path})`,
        watts,
      };

    await enableIpmiOverLan(client, ipmi);
    // A 200 does not prove the switch moved (a BMC may accept and ignore a property), so read it back.
    const after = await readIpmiOverLan(client, layout, system);
    if (!after.enabled) {
      return {
        status: "failed",
        msg: `${facts.join(", ")}; the BMC accepted PATCH ${ipmi.path} but IPMI over LAN is still off (fix: enable it in the BMC web UI; the BMC may need a license or a security setting for IPMI)`,
        watts,
      };
    }
    return { status: "changed", msg: `${facts.join(", ")}, enabled IPMI over LAN`, watts };
  } catch (err) {
    const problem = describeError(err).replace(/\n\s*fix: /, " (fix: ");
    const closed = problem.includes(" (fix: ") ? ")" : "";
    return { status: "failed", msg: `${problem}${closed}`, watts };
  }
}

export function formatWatts(watts: number): string {
  return `${Number.isInteger(watts) ? watts : watts.toFixed(1)} W`;
}
