/**
 * `powerstack power status [node...] | off <node> | on <node> | idle`: argument checks, then the real
 * dependencies (inventory, vault, Redfish clients, the Cluster over SSH) handed to the logic in
 * `src/redfish/power-command.ts`.
 */
import type { ParsedCommand } from "./argv.js";
import type { Cluster } from "../cluster/cluster.js";
import { InputError } from "../errors.js";
import { nodePortUrl } from "../inventory/node-port-url.js";
import { inventoryClientFactory } from "../redfish/from-inventory.js";
import { DEFAULT_TIMING, powerOff, powerOn, powerStatus, type PowerDeps } from "../redfish/power-command.js";
import type { KeplerFlavour } from "../inventory/types.js";
import { powerIdle, type IdleDeps } from "../power/idle-command.js";
import { readKeplerFacts } from "../power/idle-facts.js";
import { PrometheusClient } from "../prometheus/client.js";
import { KEPLER_LINES } from "../prometheus/kepler-metrics.js";
import { parseDuration } from "../prometheus/window.js";
import { openRun, type RunContext } from "./context.js";
import { confirmOnTerminal } from "../ui/confirm.js";
import type { GlobalOptions } from "./options.js";
import { limitHosts } from "../engine/playbook.js";

const ACTIONS = ["status", "off", "on", "idle"] as const;
type Action = (typeof ACTIONS)[number];

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const [actionArg, nodesArg] = cmd.args as [string, string[] | undefined];
  const action = parseAction(actionArg);
  const names = nodesArg ?? [];
  if (action === "idle") return runIdle(opts, cmd, names);
  if (action !== "status" && names.length !== 1) {
    throw new InputError(
      `\`power ${action}\` takes exactly one node, got ${names.length}`,
      `run \`powerstack power ${action} <node>\` once per node`,
    );
  }
  const timing = timingFlags(cmd.opts<TimingFlags>());

  // `off` drains a node and shuts it down: it asks once on a terminal; with none to ask on, --yes is
  // required, checked before the inventory or vault is read (as teardown does). --check never asks.
  const ask = action === "off" && !opts.check && !opts.yes;
  if (ask && !process.stdin.isTTY) {
    throw new InputError(
      `power off asks before it drains ${names[0]} and shuts it down, and there is no terminal to ask on`,
      `pass --yes to confirm in advance (\`powerstack power off ${names[0]} --check\` shows what it would do)`,
    );
  }

  const ctx = await openRun("power", opts);
  let cluster: (Cluster & { close(): Promise<void> }) | undefined;
  try {
    const deps: PowerDeps = {
      nodes: ctx.inventory.nodes,
      inventoryFile: ctx.inventory.file,
      clientFor: inventoryClientFactory(ctx.secret, { log: (event, data) => ctx.log.write(event, data) }),
      cluster: async () => (cluster ??= await connectOnDemand(ctx)),
      out: ctx.out,
      check: opts.check,
      ...(ask
        ? {
            confirm: async (message: string) => {
              const yes = await confirmOnTerminal(ctx.redactor.redact(message));
              ctx.log.write("confirm", { answer: yes, message });
              return yes;
            },
          }
        : {}),
      timing,
    };
    if (action === "off") return await powerOff(deps, names[0]!);
    if (action === "on") return await powerOn(deps, names[0]!);
    if (names.length > 0) return await powerStatus(deps, names);
    // --limit as up and teardown read it: node names and the groups all, control, workers.
    const limited = limitHosts(ctx.inventory, opts.limit);
    return await powerStatus(deps, limited && [...limited], { strict: false });
  } finally {
    await cluster?.close();
    ctx.close();
  }
}

function parseAction(value: string): Action {
  if ((ACTIONS as readonly string[]).includes(value)) return value as Action;
  throw new InputError(`unknown power action \`${value}\``, `use one of: ${ACTIONS.join(", ")}`);
}

interface TimingFlags {
  drainTimeout: string;
  waitTimeout?: string;
}

/** --drain-timeout, and --wait-timeout as the bound of every wait (off, on, Ready). */
function timingFlags(local: TimingFlags): PowerDeps["timing"] {
  const wait = seconds(local.waitTimeout, "--wait-timeout");
  return {
    drainTimeoutSec: seconds(local.drainTimeout, "--drain-timeout") ?? DEFAULT_TIMING.drainTimeoutSec,
    ...(wait !== undefined ? { offTimeoutSec: wait, onTimeoutSec: wait, readyTimeoutSec: wait } : {}),
  };
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`${flag} needs a whole number of seconds >= 1, got "${value}"`);
  return n;
}

/** Days of Kepler history the idle draw (lowest 5-minute average power) is read from. */
const IDLE_BASELINE_MS = 7 * 86_400_000;

/**
 * `power idle`: one pass of the idle policy. Meant for a timer: it never asks; without --yes (and not
 * --check) it refuses before reading the inventory (exit 2).
 */
async function runIdle(opts: GlobalOptions, cmd: ParsedCommand, names: string[]): Promise<number> {
  if (names.length > 0) {
    throw new InputError(
      `\`power idle\` takes no node names, got ${names.join(" ")}`,
      "it decides for every node of the inventory; `--check` shows what it would do",
    );
  }
  const local = cmd.opts<
    TimingFlags & {
      idleFor?: string;
      prometheus?: string;
      kepler?: string;
    }
  >();
  const idleForFlag = local.idleFor !== undefined ? parseDuration(local.idleFor, "--idle-for") : undefined;
  const timing = timingFlags(local);
  if (!opts.check && !opts.yes) {
    throw new InputError(
      "power idle drains and powers off idle workers (and powers on off ones) without asking, so it needs --yes",
      "pass --yes (as the systemd timer or cron line does); `powerstack power idle --check` shows what it would do",
    );
  }

  const ctx = await openRun("power", opts);
  let cluster: (Cluster & { close(): Promise<void> }) | undefined;
  try {
    const inv = ctx.inventory;
    const idleForMs = idleForFlag ?? parseDuration(inv.cluster.power.idleFor, "cluster.power.idle_for");
    const flavour = (local.kepler as KeplerFlavour | undefined) ?? inv.cluster.kepler.flavour;
    const prometheusUrl = local.prometheus ?? nodePortUrl(inv, "prometheus");
    const nowMs = Date.now();
    const deps: IdleDeps = {
      nodes: inv.nodes,
      inventoryFile: inv.file,
      clientFor: inventoryClientFactory(ctx.secret, { log: (event, data) => ctx.log.write(event, data) }),
      cluster: async () => (cluster ??= await connectOnDemand(ctx)),
      out: ctx.out,
      check: opts.check,
      timing,
      nowMs,
      idleForMs,
      minWorkersOn: inv.cluster.power.minWorkersOn,
      systemNamespaces: inv.cluster.power.systemNamespaces,
      kepler: () =>
        readKeplerFacts(new PrometheusClient(prometheusUrl), KEPLER_LINES[flavour], {
          nowMs,
          windowMs: idleForMs,
          baselineMs: IDLE_BASELINE_MS,
          systemNamespaces: inv.cluster.power.systemNamespaces,
        }),
      log: (event, data) => ctx.log.write(event, data),
    };
    return await powerIdle(deps);
  } finally {
    await cluster?.close();
    ctx.close();
  }
}

/** Loaded on demand: `power status` needs no SSH, and the SSH stack is the heaviest import. */
async function connectOnDemand(ctx: RunContext): Promise<Cluster & { close(): Promise<void> }> {
  const { connectCluster } = await import("../cluster/connect.js");
  return connectCluster(ctx);
}
