/**
 * The Redfish step of `up`, as one task per node: the BMC answers, the credentials work, a power reading
 * is available (Kepler's platform power depends on it), and IPMI over LAN is on where the inventory asks.
 * It looks before it leaps (readBmc changes nothing); only an IPMI switch that is off is patched
 * (switchIpmiOn), and read back.
 */
import { describeError, PowerstackError } from "../errors.js";
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

/** What a read-only look at a BMC found: what answered, the reading, and whether IPMI must be switched on. */
export interface BmcState {
  /** "Redfish 1.15.0, session auth, 312 W[, IPMI over LAN enabled]". */
  summary: string;
  /** Why the BMC does not do what `up` needs, and the fix; the rest of the state is then partial. */
  failure?: { message: string; fix?: string };
  watts?: number;
  /** IPMI over LAN is wanted and off: the property to PATCH. */
  ipmiOff?: { path: string };
}

/** A failure as one line: `message (fix: ...)`, as `checkBmc`'s callers print it. */
const oneLine = (f: { message: string; fix?: string }) =>
  f.fix ? `${f.message} (fix: ${f.fix})` : f.message;

function failureOf(err: unknown): { message: string; fix?: string } {
  if (err instanceof PowerstackError) return { message: err.message, fix: err.fix };
  return { message: failureText(err) };
}

function failureText(err: unknown): string {
  const problem = describeError(err).replace(/\n\s*fix: /, " (fix: ");
  return `${problem}${problem.includes(" (fix: ") ? ")" : ""}`;
}

async function locate(client: RedfishClient) {
  const layout = await discover(client);
  // The system's links say which chassis and manager are its own; a BMC without systems is still checked.
  // Several systems: `bmc.system_id` chooses, else this fails naming them (the rule `power` follows).
  const chosen = chooseSystem(client, layout);
  const system = chosen ? await client.get(chosen.path) : undefined;
  return { layout, chosen, system };
}

/** Look at a BMC without changing it. */
export async function readBmc(
  client: RedfishClient,
  { enableIpmi }: { enableIpmi: boolean },
): Promise<BmcState> {
  const facts: string[] = [];
  let watts: number | undefined;
  try {
    const root = await client.serviceRoot();
    facts.push(`Redfish ${stringProp(root, "RedfishVersion") ?? "(version not given)"}`);
    const mode = await client.login();
    facts.push(mode === "session" ? "session auth" : "Basic auth");
    const { layout, chosen, system } = await locate(client);
    if (chosen && layout.systems.length > 1) facts.push(`system ${chosen.id}`);

    const reading = await readPowerWatts(client, layout, system);
    if (!reading)
      return {
        summary: facts.join(", "),
        failure: {
          message: `${facts.join(", ")}; no power reading: none of ${layout.chassis.length} chassis has Power, PowerSubsystem or EnvironmentMetrics readings`,
          fix: "update the BMC firmware; Kepler's platform power needs this reading",
        },
      };
    watts = reading.watts;
    facts.push(formatWatts(reading.watts));
    if (!enableIpmi) return { summary: facts.join(", "), watts };
    const ipmi = await readIpmiOverLan(client, layout, system);
    if (ipmi.enabled) return { summary: `${facts.join(", ")}, IPMI over LAN enabled`, watts };
    return { summary: facts.join(", "), watts, ipmiOff: { path: ipmi.path } };
  } catch (err) {
    return { summary: facts.join(", "), failure: failureOf(err), watts };
  }
}

/** Switch IPMI over LAN on, and read it back: a 200 does not prove the switch moved. Throws why not. */
export async function switchIpmiOn(client: RedfishClient): Promise<void> {
  await client.login();
  const { layout, system } = await locate(client);
  const ipmi = await readIpmiOverLan(client, layout, system);
  if (ipmi.enabled) return;
  await enableIpmiOverLan(client, ipmi);
  const after = await readIpmiOverLan(client, layout, system);
  if (!after.enabled)
    throw new PowerstackError(
      `the BMC accepted PATCH ${ipmi.path} but IPMI over LAN is still off`,
      undefined,
      "enable it in the BMC web UI; the BMC may need a license or a security setting for IPMI",
    );
}

/**
 * The whole check as one call (read, then switch IPMI on unless `check`), with its one-line result: what
 * the Redfish tests drive against the mock and DMTF BMCs. `up` goes through the bmc module (readBmc as its
 * fact, switchIpmiOn as its action), which is the same two steps.
 */
export async function checkBmc(client: RedfishClient, opts: BmcCheckOptions): Promise<BmcCheckResult> {
  const state = await readBmc(client, opts);
  if (state.failure) return { status: "failed", msg: oneLine(state.failure), watts: state.watts };
  if (!state.ipmiOff) return { status: "ok", msg: state.summary, watts: state.watts };
  if (opts.check)
    return {
      status: "changed",
      msg: `${state.summary}, would enable IPMI over LAN (PATCH ${state.ipmiOff.path})`,
      watts: state.watts,
    };
  try {
    await switchIpmiOn(client);
  } catch (err) {
    return { status: "failed", msg: `${state.summary}; ${failureText(err)}`, watts: state.watts };
  }
  return { status: "changed", msg: `${state.summary}, enabled IPMI over LAN`, watts: state.watts };
}

export function formatWatts(watts: number): string {
  return `${Number.isInteger(watts) ? watts : watts.toFixed(1)} W`;
}
