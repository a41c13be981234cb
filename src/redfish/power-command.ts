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
import { describeError, InputError } from "../errors.js";
import type { NodeSpec } from "../inventory/types.js";
import { formatWatts } from "./bmc-check.js";
import { discover, soleSystem } from "./discovery.js";
import { hasBmc, requireBmc, type RedfishClientFactory } from "./from-inventory.js";
import { readPowerWatts } from "./power-reading.js";
import { assertResetAllowed, readSystemPower, resetSystem, waitForPowerState } from "./system-power.js";

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
}

export interface PowerStatusRow {
  node: string;
  role: string;
  bmc?: string;
  powerState?: string;
  watts?: number;
  error?: string;
}

type StepStatus = "ok" | "changed" | "failed";

function step(out: PowerOutput, node: string, action: string, status: StepStatus, msg: string): void {
  out.info(`${node}: ${action}: ${msg}`);
  out.object({ node, action, status, msg });
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

  const rows = await Promise.all(nodes.map((n) => statusOf(deps, n)));
  for (const row of rows) deps.out.object({ ...row });
  printTable(deps.out, rows);
  return rows.some((r) => r.error && r.bmc) ? 1 : 0;
}

async function statusOf(deps: PowerDeps, node: NodeSpec): Promise<PowerStatusRow> {
  const row: PowerStatusRow = { node: node.name, role: node.role };
  if (!hasBmc(node)) return { ...row, error: "no BMC in the inventory" };
  row.bmc = node.bmc.address;
  const client = deps.clientFor(node);
  try {
    const layout = await discover(client);
    const system = soleSystem(client, layout);
    const sys = await readSystemPower(client, system.path);
    row.powerState = sys.powerState ?? "unknown";
    row.watts = (await readPowerWatts(client, layout, sys.resource))?.watts;
  } catch (err) {
    row.error = describeError(err).replace(/\n\s*fix: /, "; fix: ");
  } finally {
    await client.close();
  }
  return row;
}

function printTable(out: PowerOutput, rows: PowerStatusRow[]): void {
  const table = [
    ["NODE", "ROLE", "BMC", "POWER", "WATTS", "NOTE"],
    ...rows.map((r) => [
      r.node,
      r.role,
      r.bmc ?? "-",
      r.powerState ?? "-",
      r.watts === undefined ? "-" : formatWatts(r.watts),
      r.error ?? "",
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

    await cordon(cluster, name);
    step(deps.out, name, "cordon", "changed", "cordoned: no new pods are scheduled here");
    try {
      await drain(cluster, name, { timeoutSec: timing.drainTimeoutSec });
    } catch (err) {
      // Leave the node as found: evicted pods already run elsewhere, but the node must take work again.
      await uncordon(cluster, name).catch(() => undefined);
      step(
        deps.out,
        name,
        "drain",
        "failed",
        "drain failed; the node was uncordoned again and stays powered on",
      );
      throw err;
    }
    step(deps.out, name, "drain", "changed", "drained (DaemonSet pods stay until power-off)");

    if (!shuttingDown) {
      await resetSystem(client, sys, "GracefulShutdown");
      step(deps.out, name, "power", "changed", "GracefulShutdown sent");
    }
    await waitForPowerState(client, system.path, "Off", {
      timeoutMs: timing.offTimeoutSec * 1000,
      pollMs: timing.pollMs,
    });
    step(deps.out, name, "power", "changed", "powered off (stays cordoned until `powerstack power on`)");
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
      await waitForPowerState(client, system.path, "On", {
        timeoutMs: timing.onTimeoutSec * 1000,
        pollMs: timing.pollMs,
      });
      step(deps.out, name, "power", needsOn ? "changed" : "ok", needsOn ? "powered on" : "already on");
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
