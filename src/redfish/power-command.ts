/**
 * `powerstack power status|off|on`: the logic, with everything that touches the world injected (Redfish
 * client factory, Cluster, output), so tests drive it against a Redfish test server and a recording
 * Cluster. `src/cli/power.ts` only parses arguments and builds the real dependencies.
 *
 * Order matters for safety: everything that can refuse (unknown node, control node, no BMC, reset type not
 * allowed) is checked before the node is touched, so a refusal never leaves a node drained for nothing.
 */
import type { Cluster } from "../cluster/cluster.js";
import {
  cordon,
  drain,
  drainArgs,
  isCordoned,
  uncordon,
  waitReady,
  waitReadyArgs,
} from "../cluster/node-ops.js";
import { describeError, ExitCode, InputError, PowerstackError } from "../errors.js";
import type { NodeSpec } from "../inventory/types.js";
import { formatWatts } from "./bmc-check.js";
import { discover, soleSystem } from "./discovery.js";
import { hasBmc, requireBmc, type RedfishClientFactory } from "./from-inventory.js";
import { readPowerWatts } from "./power-reading.js";
import { stringProp, type RedfishResource } from "./resource.js";
import {
  assertResetAllowed,
  readSystemPower,
  resetSystem,
  seconds,
  waitForPowerState,
  type PowerClock,
} from "./system-power.js";

/** The part of `Output` this command uses. */
export interface PowerOutput {
  info(line: string): void;
  object(value: Record<string, unknown>): void;
}

export interface PowerTiming {
  /** Bound on evicting the node's pods. */
  drainTimeoutSec: number;
  /** Bound on the OS shutting down after GracefulShutdown. */
  offTimeoutSec: number;
  /** Bound on PowerState reaching On after On. */
  onTimeoutSec: number;
  /** Bound on the node reporting Ready after power-on (boot plus k3s-agent start). */
  readyTimeoutSec: number;
  /** Interval between PowerState reads. */
  pollMs: number;
}

export const DEFAULT_TIMING: PowerTiming = {
  drainTimeoutSec: 300,
  offTimeoutSec: 300,
  onTimeoutSec: 180,
  readyTimeoutSec: 600,
  pollMs: 5_000,
};

export interface PowerDeps {
  nodes: readonly NodeSpec[];
  /** The inventory file, for error messages. */
  inventoryFile: string;
  clientFor: RedfishClientFactory;
  /** Called only when a step needs Kubernetes: `status` never connects. */
  cluster: () => Promise<Cluster>;
  out: PowerOutput;
  check: boolean;
  timing?: Partial<PowerTiming>;
  clock?: PowerClock;
  /**
   * Asked once before `off` changes anything (after every refusal, and only when the node is on); false
   * cancels. Undefined means confirmed in advance (`--yes`); never called in check mode.
   */
  confirm?: (message: string) => Promise<boolean>;
}

/** Which machine answers at the BMC's address: from its ComputerSystem resource, as the BMC reports it. */
export interface SystemIdentity {
  id: string;
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  hostName?: string;
}

export interface PowerStatusRow {
  node: string;
  role: string;
  bmc?: string;
  system?: SystemIdentity;
  powerState?: string;
  watts?: number;
  /** Where the reading came from (`<path> <property>`). */
  wattsSource?: string;
  /** Why there is no reading, when the BMC answered but gave none. */
  note?: string;
  error?: string;
}

type StepStatus = "ok" | "changed" | "failed";

function step(
  out: PowerOutput,
  node: string,
  action: string,
  status: StepStatus,
  msg: string,
  extra: Record<string, unknown> = {},
): void {
  out.info(`${node}: ${action}: ${msg}`);
  out.object({ node, action, status, msg, ...extra });
}

function findNode(deps: PowerDeps, name: string): NodeSpec {
  const node = deps.nodes.find((n) => n.name === name);
  if (!node) {
    throw new InputError(
      `unknown node \`${name}\`: ${deps.inventoryFile} has ${deps.nodes.map((n) => n.name).join(", ")}`,
      "use a node name from the inventory",
    );
  }
  return node;
}

// ---- status ---------------------------------------------------------------------------------------------

/**
 * Power state and watts per node: `names` (all nodes when undefined). A node without a BMC is an error
 * when named on the command line (`strict`), and a row saying so otherwise.
 */
export async function powerStatus(
  deps: PowerDeps,
  names?: string[],
  { strict = names !== undefined } = {},
): Promise<number> {
  const nodes = names ? names.map((n) => findNode(deps, n)) : [...deps.nodes];
  if (strict) nodes.forEach((n) => requireBmc(n, deps.inventoryFile));

  const results = await Promise.all(nodes.map((n) => statusOf(deps, n)));
  const rows = results.map((r) => r.row);
  for (const row of rows) deps.out.object({ ...row });
  printTable(deps.out, rows);
  // README's codes: 3 when a BMC could not be reached, else 1 when a BMC answered with an error or without
  // a power reading; a node without a BMC in the inventory is listed, not a failure.
  if (results.some((r) => r.exitCode === ExitCode.unreachable)) return ExitCode.unreachable;
  return results.some((r) => r.exitCode !== ExitCode.ok) ? ExitCode.failed : ExitCode.ok;
}

async function statusOf(deps: PowerDeps, node: NodeSpec): Promise<{ row: PowerStatusRow; exitCode: number }> {
  const row: PowerStatusRow = { node: node.name, role: node.role };
  if (!hasBmc(node)) return { row: { ...row, error: "no BMC in the inventory" }, exitCode: ExitCode.ok };
  row.bmc = node.bmc.address;
  const client = deps.clientFor(node);
  let exitCode: number = ExitCode.ok;
  try {
    const layout = await discover(client);
    const system = soleSystem(client, layout);
    const sys = await readSystemPower(client, system.path);
    row.system = identityOf(system.id, sys.resource);
    row.powerState = sys.powerState ?? "unknown";
    const reading = await readPowerWatts(client, layout, sys.resource);
    if (reading) {
      row.watts = reading.watts;
      row.wattsSource = reading.source;
    } else {
      row.note = `no power reading: none of ${layout.chassis.length} chassis has Power, PowerSubsystem or EnvironmentMetrics readings; fix: update the BMC firmware (Kepler's platform power needs this reading)`;
      exitCode = ExitCode.failed;
    }
  } catch (err) {
    row.error = describeError(err).replace(/\n\s*fix: /, "; fix: ");
    exitCode = err instanceof PowerstackError ? err.exitCode : ExitCode.failed;
    // A refused login or a TLS mismatch (exit 2 elsewhere) is a failed row here, not a usage error.
    if (exitCode === ExitCode.usage) exitCode = ExitCode.failed;
  } finally {
    await client.close();
  }
  return { row, exitCode };
}

function identityOf(id: string, resource: RedfishResource): SystemIdentity {
  const identity: SystemIdentity = { id: stringProp(resource, "Id") ?? id };
  const fields = [
    ["manufacturer", "Manufacturer"],
    ["model", "Model"],
    ["serialNumber", "SerialNumber"],
    ["hostName", "HostName"],
  ] as const;
  for (const [key, prop] of fields) {
    const value = stringProp(resource, prop)?.trim();
    if (value) identity[key] = value;
  }
  return identity;
}

/** `Lenovo 7X06CTO1WW, id 437XR1138R2, SN J300ABCD, host web483`: what is there, in that order. */
export function describeSystem(s: SystemIdentity): string {
  const make = [s.manufacturer, s.model].filter(Boolean).join(" ");
  return [
    make || undefined,
    `id ${s.id}`,
    s.serialNumber && `SN ${s.serialNumber}`,
    s.hostName && `host ${s.hostName}`,
  ]
    .filter(Boolean)
    .join(", ");
}

function printTable(out: PowerOutput, rows: PowerStatusRow[]): void {
  const table = [
    ["NODE", "ROLE", "BMC", "SYSTEM", "POWER", "WATTS", "NOTE"],
    ...rows.map((r) => [
      r.node,
      r.role,
      r.bmc ?? "-",
      r.system ? describeSystem(r.system) : "-",
      r.powerState ?? "-",
      r.watts === undefined ? "-" : formatWatts(r.watts),
      r.error ?? r.note ?? "",
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  for (const line of table) {
    out.info(
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    );
  }
}

// ---- off ------------------------------------------------------------------------------------------------

export async function powerOff(deps: PowerDeps, name: string): Promise<number> {
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const node = findNode(deps, name);
  if (node.role === "control") {
    throw new InputError(
      `refusing to power off ${name}: it is the control node (the Kubernetes API, the NFS share and Prometheus live there)`,
      "power off workers only; to stop everything, power off the workers, then shut the control node down from its OS",
    );
  }
  const target = requireBmc(node, deps.inventoryFile);
  const client = deps.clientFor(target);
  try {
    const system = soleSystem(client, await discover(client));
    const sys = await readSystemPower(client, system.path);
    if (sys.powerState === "Off") {
      step(deps.out, name, "power", "ok", "already off");
      return 0;
    }
    // Someone (the OS, the BMC UI) is already shutting it down: drain and wait, do not reset again.
    const shuttingDown = sys.powerState === "PoweringOff";
    if (!shuttingDown) assertResetAllowed(client, sys, "GracefulShutdown");

    const cluster = await deps.cluster();
    if (deps.check) {
      const cordoned = await isCordoned(cluster, name);
      step(
        deps.out,
        name,
        "cordon",
        cordoned ? "ok" : "changed",
        cordoned ? "already cordoned" : `would run kubectl cordon ${name}`,
      );
      step(
        deps.out,
        name,
        "drain",
        "changed",
        `would run kubectl ${drainArgs(name, { timeoutSec: timing.drainTimeoutSec }).join(" ")}`,
      );
      step(
        deps.out,
        name,
        "power",
        "changed",
        shuttingDown
          ? "already powering off; would wait for Off"
          : `would send GracefulShutdown to ${client.target.address} and wait up to ${timing.offTimeoutSec} s for Off`,
      );
      return 0;
    }

    if (deps.confirm) {
      const yes = await deps.confirm(
        `powerstack power off ${name} will cordon ${name}, drain it (its pods move to other nodes; DaemonSet pods stay) and shut it down through its BMC (${client.target.address}, GracefulShutdown). Go ahead?`,
      );
      if (!yes) {
        step(deps.out, name, "power", "failed", "cancelled: nothing was changed");
        return ExitCode.failed;
      }
    }

    await cordon(cluster, name);
    step(deps.out, name, "cordon", "changed", "cordoned: no new pods are scheduled here");
    try {
      await drain(cluster, name, { timeoutSec: timing.drainTimeoutSec });
    } catch (err) {
      // Leave the node as found: evicted pods already run elsewhere, but the node must take work again.
      const uncordoned = await uncordon(cluster, name).then(
        () => true,
        () => false,
      );
      step(
        deps.out,
        name,
        "drain",
        "failed",
        uncordoned
          ? "drain failed; the node was uncordoned again and stays powered on"
          : `drain failed and uncordoning failed too: ${name} stays cordoned (no new pods) and powered on; run \`k3s kubectl uncordon ${name}\` on the control node`,
      );
      throw err;
    }
    step(deps.out, name, "drain", "changed", "drained (DaemonSet pods stay until power-off)");

    let waitedMs: number;
    try {
      if (!shuttingDown) {
        await resetSystem(client, sys, "GracefulShutdown");
        step(deps.out, name, "power", "changed", "GracefulShutdown sent");
      }
      waitedMs = await waitForPowerState(
        client,
        system.path,
        "Off",
        { timeoutMs: timing.offTimeoutSec * 1000, pollMs: timing.pollMs },
        deps.clock,
      );
    } catch (err) {
      // Cordoned and drained, but maybe still running: say so, and how to give the node its work back.
      step(
        deps.out,
        name,
        "power",
        "failed",
        `power-off failed: ${name} stays cordoned and drained (its pods run on other nodes, no new ones are scheduled here); to take it back into service run \`powerstack power on ${name}\` (waits for Ready, then uncordons) or \`k3s kubectl uncordon ${name}\` on the control node`,
      );
      throw err;
    }
    step(deps.out, name, "power", "changed", "powered off (stays cordoned until `powerstack power on`)", {
      waitedSec: seconds(waitedMs),
    });
    return 0;
  } finally {
    await client.close();
  }
}

// ---- on -------------------------------------------------------------------------------------------------

export async function powerOn(deps: PowerDeps, name: string): Promise<number> {
  const timing = { ...DEFAULT_TIMING, ...deps.timing };
  const node = findNode(deps, name);
  const target = requireBmc(node, deps.inventoryFile);
  const client = deps.clientFor(target);
  try {
    const system = soleSystem(client, await discover(client));
    const sys = await readSystemPower(client, system.path);
    const needsOn = sys.powerState !== "On" && sys.powerState !== "PoweringOn";
    if (needsOn) assertResetAllowed(client, sys, "On");

    if (deps.check) {
      step(
        deps.out,
        name,
        "power",
        needsOn ? "changed" : "ok",
        needsOn
          ? `would send On to ${client.target.address} and wait up to ${timing.onTimeoutSec} s for On`
          : `already ${sys.powerState}`,
      );
    } else {
      if (needsOn) {
        await resetSystem(client, sys, "On");
        step(deps.out, name, "power", "changed", "On sent");
      }
      const waitedMs = await waitForPowerState(
        client,
        system.path,
        "On",
        { timeoutMs: timing.onTimeoutSec * 1000, pollMs: timing.pollMs },
        deps.clock,
      );
      step(deps.out, name, "power", needsOn ? "changed" : "ok", needsOn ? "powered on" : "already on", {
        waitedSec: seconds(waitedMs),
      });
    }

    if (node.role === "control") {
      // kubectl runs on the control node itself: it cannot be asked about its own boot over SSH yet.
      step(
        deps.out,
        name,
        "ready",
        "ok",
        "control node: not waiting for Kubernetes (run `powerstack verify` once it has booted)",
      );
      return 0;
    }
    return await rejoin(deps, name, timing, await deps.cluster());
  } finally {
    await client.close();
  }
}

/** Wait for Ready, then uncordon if (and only if) the node is cordoned. */
async function rejoin(deps: PowerDeps, name: string, timing: PowerTiming, cluster: Cluster): Promise<number> {
  if (deps.check) {
    const cordoned = await isCordoned(cluster, name);
    step(
      deps.out,
      name,
      "ready",
      "changed",
      `would run kubectl ${waitReadyArgs(name, timing.readyTimeoutSec).join(" ")}`,
    );
    step(
      deps.out,
      name,
      "uncordon",
      cordoned ? "changed" : "ok",
      cordoned ? `would run kubectl uncordon ${name}` : "not cordoned",
    );
    return 0;
  }
  await waitReady(cluster, name, timing.readyTimeoutSec);
  step(deps.out, name, "ready", "ok", "node is Ready");
  if (await isCordoned(cluster, name)) {
    await uncordon(cluster, name);
    step(deps.out, name, "uncordon", "changed", "uncordoned: pods may be scheduled here again");
  } else {
    step(deps.out, name, "uncordon", "ok", "not cordoned");
  }
  return 0;
}
