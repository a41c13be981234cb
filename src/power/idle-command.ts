/**
 * `powerstack power idle`: one pass of the idle policy. Gathers the facts (BMC power states and readings,
 * pods through the Cluster, Kepler through Prometheus), decides with the pure `decideIdle`, logs every
 * decision, and acts through the same `powerOff` / `powerOn` paths as `power off|on` (cordon, drain,
 * GracefulShutdown, waits; power on waits for Ready and uncordons). With `check` it only says what it
 * would do and why. Output: one line per node, and with --json one object per node.
 */
import { describeError, ExitCode, PowerstackError } from "../errors.js";
import { hasBmc, type NodeWithBmc } from "../redfish/from-inventory.js";
import { discover, soleSystem } from "../redfish/discovery.js";
import { powerOff, powerOn, type PowerDeps, type PowerOutput } from "../redfish/power-command.js";
import { readPowerWatts } from "../redfish/power-reading.js";
import { readSystemPower } from "../redfish/system-power.js";
import { readPods } from "./idle-facts.js";
import {
  decideIdle,
  IDLE_DEFAULTS,
  type IdleDecision,
  type IdleSettings,
  type KeplerNodeFacts,
  type NodeFacts,
  type PowerState,
} from "./idle-policy.js";

export interface IdleDeps extends PowerDeps {
  nowMs: number;
  idleForMs: number;
  minWorkersOn: number;
  systemNamespaces: readonly string[];
  /** Kepler's facts per node; throws when Prometheus cannot be read (then no worker counts as idle). */
  kepler: () => Promise<Map<string, KeplerNodeFacts>>;
  /** The run log. */
  log: (event: string, data: Record<string, unknown>) => void;
}

interface BmcFacts {
  power: PowerState;
  watts?: number;
  error?: string;
  /** The error's exit code: 3 for an unreachable BMC. */
  errorExit?: number;
}

/** What powering a node off saves now: its idle draw before minus the BMC's reading while off. */
export interface Saving {
  idleWatts: number;
  offWatts: number;
  savingWatts: number;
  /** Since when the node is off, from Kepler's last sample of it (approximate to a scrape). */
  offSinceMs?: number;
  savedJoules?: number;
  savedKwh?: number;
}

export async function powerIdle(deps: IdleDeps): Promise<number> {
  const nodes = [...deps.nodes];
  const bmc = new Map<string, BmcFacts>();
  await Promise.all(
    nodes
      .filter((n): n is NodeWithBmc => n.role === "worker" && hasBmc(n))
      .map(async (n) => bmc.set(n.name, await readBmc(deps, n))),
  );

  const pods = await readPods(await deps.cluster());

  let kepler = new Map<string, KeplerNodeFacts>();
  let keplerError: string | undefined;
  // A fact that could not be read does not stop the pass (nothing is powered off on missing evidence),
  // but the pass exits non-zero so a timer's failure shows it: 3 unreachable, 1 otherwise.
  let factsExit: number = ExitCode.ok;
  try {
    kepler = await deps.kepler();
  } catch (err) {
    factsExit =
      err instanceof PowerstackError && err.exitCode !== ExitCode.usage ? err.exitCode : ExitCode.failed;
    keplerError = describeError(err).replace(/\n\s*fix: /, "; fix: ");
    deps.out.info(`Kepler/Prometheus could not be read, so no worker counts as idle: ${keplerError}`);
    deps.log("idle-kepler-unavailable", { error: keplerError });
  }

  const facts: NodeFacts[] = nodes.map((n) => ({
    name: n.name,
    role: n.role,
    hasBmc: hasBmc(n),
    power: n.role === "control" ? "On" : (bmc.get(n.name)?.power ?? "unknown"),
    ...(kepler.has(n.name) ? { kepler: kepler.get(n.name)! } : {}),
  }));
  const settings: IdleSettings = {
    ...IDLE_DEFAULTS,
    nowMs: deps.nowMs,
    idleForMs: deps.idleForMs,
    minWorkersOn: deps.minWorkersOn,
    systemNamespaces: deps.systemNamespaces,
  };
  const decisions = decideIdle(facts, pods, settings);
  deps.log("idle-facts", {
    idleForMs: deps.idleForMs,
    minWorkersOn: deps.minWorkersOn,
    systemNamespaces: deps.systemNamespaces,
    bmc: Object.fromEntries(bmc),
    kepler: Object.fromEntries(kepler),
    ...(keplerError ? { keplerError } : {}),
    pods: pods.length,
  });

  let exitCode: number = ExitCode.ok;
  let stopped = false;
  for (const d of decisions) {
    const b = bmc.get(d.node);
    const saving = d.power === "Off" ? savingOf(kepler.get(d.node), b, deps.nowMs) : undefined;
    const row: Record<string, unknown> = { ...d, ...(b?.error ? { bmcError: b.error } : {}) };
    if (saving) row.saving = saving;
    else if (d.power === "Off") row.saving = { missing: missingSaving(kepler.get(d.node), b) };

    const acting = d.action === "power-off" || d.action === "power-on";
    if (acting && deps.check) {
      row.result = "would";
    } else if (acting && stopped) {
      row.result = "skipped: an earlier action in this pass failed";
    } else if (acting) {
      const sub = subDeps(deps, d.node);
      try {
        const code = d.action === "power-off" ? await powerOff(sub, d.node) : await powerOn(sub, d.node);
        row.result = code === 0 ? "done" : "failed";
        if (code !== 0) {
          exitCode = Math.max(exitCode, code);
          stopped = true;
        }
      } catch (err) {
        row.result = "failed";
        row.error = describeError(err).replace(/\n\s*fix: /, "; fix: ");
        exitCode = Math.max(exitCode, err instanceof PowerstackError ? err.exitCode : ExitCode.failed);
        stopped = true;
      }
    }
    deps.log("idle-decision", { ...row, check: deps.check });
    deps.out.info(lineOf(d, row, deps.check));
    deps.out.object(row);
  }
  for (const b of bmc.values()) if (b.errorExit !== undefined) factsExit = Math.max(factsExit, b.errorExit);
  return exitCode !== ExitCode.ok ? exitCode : factsExit;
}

function lineOf(d: IdleDecision, row: Record<string, unknown>, check: boolean): string {
  const verb =
    d.action === "power-off"
      ? check
        ? "would drain and power off"
        : "drain and power off"
      : d.action === "power-on"
        ? check
          ? "would power on"
          : "power on"
        : d.action === "keep-off"
          ? "stays off"
          : d.action === "keep-on"
            ? "stays on"
            : "left as it is";
  const saving = row.saving as (Saving & { missing?: string }) | undefined;
  const saved =
    saving && saving.missing === undefined
      ? `; saving ${+saving.savingWatts.toFixed(1)} W (idle ${+saving.idleWatts.toFixed(1)} W, off ${+saving.offWatts.toFixed(1)} W)${saving.savedKwh !== undefined ? `, ${+saving.savedKwh.toFixed(3)} kWh so far` : ""}`
      : saving?.missing
        ? `; saving unknown: ${saving.missing}`
        : "";
  const result =
    row.result && row.result !== "would"
      ? ` [${String(row.result)}${row.error ? `: ${String(row.error)}` : ""}]`
      : "";
  return `${d.node}: ${verb}: ${d.reason}${saved}${result}`;
}

async function readBmc(deps: PowerDeps, node: NodeWithBmc): Promise<BmcFacts> {
  const client = deps.clientFor(node);
  try {
    const layout = await discover(client);
    const system = soleSystem(client, layout);
    const sys = await readSystemPower(client, system.path);
    const power = (["On", "Off", "PoweringOn", "PoweringOff"] as const).find((s) => s === sys.powerState);
    const reading = await readPowerWatts(client, layout, sys.resource).catch(() => undefined);
    return { power: power ?? "unknown", ...(reading ? { watts: reading.watts } : {}) };
  } catch (err) {
    return {
      power: "unknown",
      error: describeError(err).replace(/\n\s*fix: /, "; fix: "),
      errorExit:
        err instanceof PowerstackError && err.exitCode !== ExitCode.usage ? err.exitCode : ExitCode.failed,
    };
  } finally {
    await client.close();
  }
}

export function savingOf(
  k: KeplerNodeFacts | undefined,
  b: BmcFacts | undefined,
  nowMs: number,
): Saving | undefined {
  // Only the platform's idle draw compares with the BMC's whole-server reading (not the CPU package's).
  if (k?.idleWatts === undefined || k.source !== "platform" || b?.watts === undefined) return undefined;
  const savingWatts = k.idleWatts - b.watts;
  const s: Saving = { idleWatts: k.idleWatts, offWatts: b.watts, savingWatts };
  if (k.lastSampleMs !== undefined && k.lastSampleMs < nowMs) {
    s.offSinceMs = k.lastSampleMs;
    s.savedJoules = savingWatts * ((nowMs - k.lastSampleMs) / 1000);
    s.savedKwh = s.savedJoules / 3_600_000;
  }
  return s;
}

function missingSaving(k: KeplerNodeFacts | undefined, b: BmcFacts | undefined): string {
  const missing: string[] = [];
  if (k?.idleWatts === undefined || k.source !== "platform")
    missing.push("no idle draw from Kepler's platform power (Kepler reads no Redfish/ACPI power for it)");
  if (b?.watts === undefined)
    missing.push(b?.error ? `no BMC reading (${b.error})` : "the BMC gives no power reading while off");
  return missing.join("; ");
}

/** The power-off/on path's own step lines go to the screen and its objects to the run log only. */
function subDeps(deps: IdleDeps, node: string): PowerDeps {
  const out: PowerOutput = {
    info: (line) => deps.out.info(`  ${line}`),
    object: (value) => deps.log("idle-step", { node, ...value }),
  };
  return { ...deps, out, check: false, confirm: undefined };
}
