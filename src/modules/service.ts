/**
 * A systemd unit: enabled and/or running. `daemon-reload` only when systemd says a unit file changed
 * (NeedDaemonReload), never by habit. Restarts are not a state: they are handlers (`restarted`), run only
 * when a task that feeds the service changed.
 */
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { unit, type UnitState } from "../facts/system.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface ServiceParams {
  name: string;
  enabled?: boolean;
  state?: "started" | "stopped" | "restarted" | "reloaded";
}

export type ServiceAction =
  /** In --check an earlier task may only be planning to install the unit: reported; apply re-checks. */
  | { kind: "manage-uninstalled"; enable: boolean; start: boolean }
  | { kind: "daemon-reload" }
  | { kind: "enable" | "disable" | "start" | "stop" | "restart" | "reload" };

const ENABLED = ["enabled", "static", "alias", "indirect", "generated"];
const RUNNING = ["active", "activating", "reloading"];

export const service: Module<ServiceParams, { unit: UnitState }, ServiceAction> = {
  name: "service",
  reads: (p) => ({ unit: unit.of(p.name) }),
  plan({ unit: seen }, p) {
    if (!seen.exists)
      return [{ kind: "manage-uninstalled", enable: p.enabled === true, start: p.state === "started" }];
    const actions: ServiceAction[] = [];
    if (seen.needReload) actions.push({ kind: "daemon-reload" });
    if (p.enabled === true && !ENABLED.includes(seen.enabled)) actions.push({ kind: "enable" });
    if (p.enabled === false && seen.enabled === "enabled") actions.push({ kind: "disable" });
    const running = RUNNING.includes(seen.active);
    if (p.state === "started" && !running) actions.push({ kind: "start" });
    if (p.state === "stopped" && running) actions.push({ kind: "stop" });
    if (p.state === "restarted") actions.push({ kind: "restart" });
    if (p.state === "reloaded") actions.push({ kind: running ? "reload" : "start" });
    return actions;
  },
  describe(a, p) {
    if (a.kind === "manage-uninstalled")
      return `${[a.enable && "enable", a.start && "start"].filter(Boolean).join(" and ") || "manage"} ${p.name} (unit not installed yet)`;
    if (a.kind === "daemon-reload") return `systemctl daemon-reload (unit file of ${p.name} changed)`;
    return `${a.kind} ${p.name}`;
  },
  // A unit that starts or stops changes more than its own state (exports, mounts, files it writes).
  touches: (a, p) =>
    a.kind === "daemon-reload"
      ? [unit]
      : a.kind === "enable" || a.kind === "disable"
        ? [unit.of(p.name)]
        : "all",
  async apply({ host }, actions, p) {
    const n = shq(p.name);
    const cmds = actions.map((a) => {
      switch (a.kind) {
        case "manage-uninstalled":
          throw new PowerstackError(
            `systemd unit ${p.name} not found`,
            undefined,
            "install the package that provides it, or fix the unit name",
          );
        case "daemon-reload":
          return "systemctl daemon-reload";
        case "reload":
          return `systemctl reload-or-restart ${n}`;
        default:
          return `systemctl ${a.kind} ${n}`;
      }
    });
    await run(host, cmds.join(" && "), { timeoutSec: 300 });
  },
};
