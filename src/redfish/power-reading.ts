/**
 * The server's power draw in watts, the chassis' own reading first (issue 19):
 *
 * 1. `Chassis/{id}/EnvironmentMetrics` -> `PowerWatts.Reading`: the current schema's chassis total.
 * 2. `Chassis/{id}/Power` -> `PowerControl[].PowerConsumedWatts` (the first entry that has one):
 *    deprecated in the schema but what XCC, iDRAC, iLO and Kepler read.
 * 3. Only without either: `Chassis/{id}/PowerSubsystem` -> its power supplies'
 *    `Metrics.InputPowerWatts.Reading`, summed. Input power includes the supplies' conversion losses and
 *    may count a redundant supply twice over, so it is the fallback, not the rule.
 *
 * The source is always named. Chassis are tried in `chassisFor` order (the system's own first); a link
 * that 404s counts as absent.
 */
import type { RedfishClient } from "./client.js";
import { chassisFor, type BmcLayout } from "./discovery.js";
import { RedfishError } from "./errors.js";
import { readNumber } from "./lenient-number.js";
import { isObject, linkList, linkOf, type RedfishResource } from "./resource.js";

export interface PowerReading {
  watts: number;
  /** Where the number came from: `<path> <property>`, for the log and `--json`. */
  source: string;
}

export async function readPowerWatts(
  client: RedfishClient,
  layout: BmcLayout,
  system?: RedfishResource,
): Promise<PowerReading | undefined> {
  for (const chassis of chassisFor(system, layout)) {
    const body = await getIfPresent(client, chassis.path);
    if (!body) continue;
    const reading =
      (await fromEnvironmentMetrics(client, linkOf(body, "EnvironmentMetrics"))) ??
      (await fromPower(client, linkOf(body, "Power"))) ??
      (await fromPowerSubsystem(client, linkOf(body, "PowerSubsystem")));
    if (reading) return reading;
  }
  return undefined;
}

async function fromPower(client: RedfishClient, path: string | undefined): Promise<PowerReading | undefined> {
  if (!path) return undefined;
  const power = await getIfPresent(client, path);
  const controls: unknown[] = Array.isArray(power?.PowerControl) ? power.PowerControl : [];
  for (const [i, control] of controls.entries()) {
    const watts = isObject(control) ? readNumber(control.PowerConsumedWatts) : undefined;
    if (watts !== undefined) return { watts, source: `${path} PowerControl[${i}].PowerConsumedWatts` };
  }
  return undefined;
}

async function fromPowerSubsystem(
  client: RedfishClient,
  path: string | undefined,
): Promise<PowerReading | undefined> {
  if (!path) return undefined;
  const subsystem = await getIfPresent(client, path);
  const suppliesPath = linkOf(subsystem, "PowerSupplies");
  if (!suppliesPath) return undefined;
  const supplies = await getIfPresent(client, suppliesPath);
  let total = 0;
  let read = 0;
  for (const supplyPath of linkList(supplies?.Members)) {
    const supply = await getIfPresent(client, supplyPath);
    const metrics = await getIfPresent(client, linkOf(supply, "Metrics"));
    const watts = isObject(metrics?.InputPowerWatts)
      ? readNumber(metrics.InputPowerWatts.Reading)
      : undefined;
    if (watts !== undefined) {
      total += watts;
      read++;
    }
  }
  return read === 0
    ? undefined
    : { watts: total, source: `${suppliesPath} sum of ${read} InputPowerWatts.Reading` };
}

async function fromEnvironmentMetrics(
  client: RedfishClient,
  path: string | undefined,
): Promise<PowerReading | undefined> {
  if (!path) return undefined;
  const metrics = await getIfPresent(client, path);
  const watts = isObject(metrics?.PowerWatts) ? readNumber(metrics.PowerWatts.Reading) : undefined;
  return watts === undefined ? undefined : { watts, source: `${path} PowerWatts.Reading` };
}

/** GET, treating 404 as "this BMC does not have it" (links to unimplemented resources are common). */
async function getIfPresent(
  client: RedfishClient,
  path: string | undefined,
): Promise<RedfishResource | undefined> {
  if (!path) return undefined;
  try {
    return await client.get(path);
  } catch (err) {
    if (err instanceof RedfishError && err.kind === "not-found") return undefined;
    throw err;
  }
}
