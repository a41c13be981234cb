/**
 * A computer system's power: its `PowerState` and the `ComputerSystem.Reset` action. The reset types a
 * BMC accepts vary (some lack `GracefulShutdown`, some `On`), so they are read from
 * `ResetType@Redfish.AllowableValues` or the action's `@Redfish.ActionInfo` before anything is sent.
 */
import type { RedfishClient } from "./client.js";
import { ExitCode, PowerstackError } from "../errors.js";
import { describeTarget, RedfishError } from "./errors.js";
import { isObject, stringProp, type RedfishResource } from "./resource.js";

export type ResetType =
  | "On"
  | "ForceOff"
  | "GracefulShutdown"
  | "GracefulRestart"
  | "ForceRestart"
  | "ForceOn"
  | "PushPowerButton"
  | "PowerCycle"
  | "Nmi";

export interface SystemPower {
  path: string;
  /** `On`, `Off`, `PoweringOn`, `PoweringOff`, `Paused`; undefined when the BMC does not say. */
  powerState?: string;
  /** Where to POST the reset; undefined when the system offers no reset action. */
  resetTarget?: string;
  /** Accepted reset types; undefined when the BMC does not list them (then any may be tried). */
  allowedResetTypes?: string[];
  /** The system resource as read, for callers that need more (links to chassis and manager). */
  resource: RedfishResource;
}

export async function readSystemPower(client: RedfishClient, path: string): Promise<SystemPower> {
  const resource = await client.get(path);
  const actions = isObject(resource.Actions) ? resource.Actions : undefined;
  const reset =
    actions && isObject(actions["#ComputerSystem.Reset"]) ? actions["#ComputerSystem.Reset"] : undefined;
  let allowed = stringList(reset?.["ResetType@Redfish.AllowableValues"]);
  const actionInfo = stringProp(reset, "@Redfish.ActionInfo");
  if (!allowed && actionInfo) allowed = await allowedFromActionInfo(client, actionInfo);
  return {
    path,
    powerState: stringProp(resource, "PowerState"),
    resetTarget: stringProp(reset, "target"),
    allowedResetTypes: allowed,
    resource,
  };
}

async function allowedFromActionInfo(client: RedfishClient, path: string): Promise<string[] | undefined> {
  const info = await client.get(path);
  const params = Array.isArray(info.Parameters) ? info.Parameters : [];
  const resetType = params.find((p) => stringProp(p, "Name") === "ResetType");
  return isObject(resetType) ? stringList(resetType.AllowableValues) : undefined;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
}

/** Throws a clear error when the BMC does not offer this reset type; nothing is sent either way. */
export function assertResetAllowed(client: RedfishClient, sys: SystemPower, type: ResetType): string {
  if (!sys.resetTarget) {
    throw new RedfishError(
      "not-allowed",
      client.target,
      `GET ${sys.path}`,
      "the system offers no #ComputerSystem.Reset action",
      "this BMC cannot control power through Redfish; use its web UI",
    );
  }
  if (sys.allowedResetTypes && !sys.allowedResetTypes.includes(type)) {
    const alternative =
      type === "GracefulShutdown"
        ? "shut the node down from its OS (`systemctl poweroff` over SSH) after `powerstack power off` has drained it, or enable ACPI shutdown in the BMC"
        : "use the BMC web UI, or update the BMC firmware";
    throw new RedfishError(
      "not-allowed",
      client.target,
      `POST ${sys.resetTarget}`,
      `reset type ${type} is not allowed by this BMC (it allows: ${sys.allowedResetTypes.join(", ") || "none"})`,
      alternative,
    );
  }
  return sys.resetTarget;
}

export async function resetSystem(client: RedfishClient, sys: SystemPower, type: ResetType): Promise<void> {
  const target = assertResetAllowed(client, sys, type);
  // 200, 202 (a task the BMC runs) and 204 are all success; the caller waits for PowerState anyway.
  await client.post(target, { ResetType: type });
}

/** Time, injectable so the power-state waits can be tested on a fake clock. */
export interface PowerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const REAL_CLOCK: PowerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The BMC answered, but PowerState did not reach the wanted state in time: a failed action (exit 1). */
export class PowerStateTimeout extends PowerstackError {
  constructor(
    message: string,
    fix: string,
    readonly waitedMs: number,
    readonly lastState: string | undefined,
  ) {
    super(message, ExitCode.failed, fix);
  }
}

/**
 * Poll `PowerState` until it is `want`, every `pollMs`, and once more exactly at the deadline (the last
 * sleep is shortened to end there), so the whole bound is used. Returns the time waited; throws
 * PowerStateTimeout naming the last state seen and the time actually waited.
 */
export async function waitForPowerState(
  client: RedfishClient,
  path: string,
  want: "On" | "Off",
  { timeoutMs, pollMs }: { timeoutMs: number; pollMs: number },
  clock: PowerClock = REAL_CLOCK,
): Promise<number> {
  const start = clock.now();
  const deadline = start + timeoutMs;
  let last: string | undefined;
  let lastPollAt = start;
  for (;;) {
    lastPollAt = clock.now();
    last = (await readSystemPower(client, path)).powerState;
    const now = clock.now();
    if (last === want) return now - start;
    if (now >= deadline) break;
    await clock.sleep(Math.min(pollMs, deadline - now));
  }
  // The state was last seen at the last poll: that is how long it was waited for.
  const waitedMs = lastPollAt - start;
  const fix =
    want === "Off"
      ? "the OS did not finish shutting down (it may ignore ACPI power-button events, or a service blocks shutdown): look at the node's console in the BMC web UI; as a last resort use ForceOff there"
      : "look at the server's console and event log in the BMC web UI (a failed POST or a power-capping policy can keep it off)";
  throw new PowerStateTimeout(
    `${describeTarget(client.target)}: GET ${path}: PowerState is still ${last ?? "unknown"} after ${seconds(waitedMs)} s (waiting for ${want}, bound ${seconds(timeoutMs)} s)`,
    fix,
    waitedMs,
    last,
  );
}

/** Milliseconds as seconds with one decimal, as the messages and `--json` show them. */
export const seconds = (ms: number) => +(ms / 1000).toFixed(1);
