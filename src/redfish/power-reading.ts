/**
 * The server's power draw in watts, from whichever model the BMC implements:
 *
 * 1. `Chassis/{id}/Power` -> `PowerControl[0].PowerConsumedWatts`: deprecated in the schema but what
 *    XCC, iDRAC, iLO and Kepler (legacy and current) read, so the reading matches Kepler's platform power.
 * 2. `Chassis/{id}/PowerSubsystem` -> its power supplies' `Metrics.InputPowerWatts.Reading`, summed:
 *    the newer model has no chassis total there, and the input side is what the wall meter sees.
 * 3. `Chassis/{id}/EnvironmentMetrics` -> `PowerWatts.Reading`.
 *
 * Chassis are tried in `chassisFor` order (the system's own first). A link that 404s counts as absent.
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
      (await fromPower(client, linkOf(body, "Power"))) ??
      (await fromPowerSubsystem(client, linkOf(body, "PowerSubsystem"))) ??
      (await fromEnvironmentMetrics(client, linkOf(body, "EnvironmentMetrics")));
    if (reading) return reading;
  }
  return undefined;
}

async function fromPower(client: RedfishClient, path: string | undefined): Promise<PowerReading | undefined> {
  if (!path) return undefined;
  const power = await getIfPresent(client, path);
  const controls = power?.PowerControl;
  const first: unknown = Array.isArray(controls) ? controls[0] : undefined;
  const watts = isObject(first) ? readNumber(first.PowerConsumedWatts) : undefined;
  return watts === undefined ? undefined : { watts, source: `${path} PowerControl[0].PowerConsumedWatts` };
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
