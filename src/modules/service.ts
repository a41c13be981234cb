/**
 * A systemd unit: enabled and/or running. `daemon-reload` only when systemd says a unit file changed
 * (NeedDaemonReload), never by habit. Restarts are not a state: they are handlers (`restarted`), run only
 * when a task that feeds the service changed.
 */
import { PowerstackError } from "../errors.js";
import type { Change, ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface ServiceParams {
  name: string;
  enabled?: boolean;
  state?: "started" | "stopped" | "restarted" | "reloaded";
}

interface ServiceSeen {
  exists: boolean;
  enabled: string;
  active: string;
  needReload: boolean;
}

export const service: ShellModule<ServiceParams, ServiceSeen> = {
  name: "service",
  probe: (p) => ({
    command: `systemctl show -p LoadState,UnitFileState,ActiveState,NeedDaemonReload ${shq(p.name)}`,
    parse(stdout) {
      const v = Object.fromEntries(stdout.split("\n").map((l) => l.split("=", 2) as [string, string]));
      return {
        exists: v.LoadState === "loaded",
        enabled: v.UnitFileState ?? "",
        active: v.ActiveState ?? "",
        needReload: v.NeedDaemonReload === "yes",
      };
    },
  }),
  plan(seen, p) {
    // In --check an earlier task may only be planning to install the unit: report, and let apply decide.
    if (!seen.exists)
      return [
        {
          summary: `${[p.enabled && "enable", p.state === "started" && "start"].filter(Boolean).join(" and ") || "manage"} ${p.name} (unit not installed yet)`,
        },
      ];
    const changes: Change[] = [];
    if (seen.needReload)
      changes.push({ summary: `systemctl daemon-reload (unit file of ${p.name} changed)` });
    const isEnabled = ["enabled", "static", "alias", "indirect", "generated"].includes(seen.enabled);
    if (p.enabled === true && !isEnabled) changes.push({ summary: `enable ${p.name}` });
    if (p.enabled === false && seen.enabled === "enabled") changes.push({ summary: `disable ${p.name}` });
    const running = seen.active === "active" || seen.active === "activating" || seen.active === "reloading";
    if (p.state === "started" && !running) changes.push({ summary: `start ${p.name}` });
    if (p.state === "stopped" && running) changes.push({ summary: `stop ${p.name}` });
    if (p.state === "restarted") changes.push({ summary: `restart ${p.name}` });
    if (p.state === "reloaded") changes.push({ summary: running ? `reload ${p.name}` : `start ${p.name}` });
    return changes;
  },
  async apply({ host }, p, changes, seen) {
    if (!seen.exists)
      throw new PowerstackError(
        `systemd unit ${p.name} not found`,
        undefined,
        "install the package that provides it, or fix the unit name",
      );
    const n = shq(p.name);
    const cmds: string[] = [];
    if (seen.needReload) cmds.push("systemctl daemon-reload");
    if (changes.some((c) => c.summary.startsWith("enable"))) cmds.push(`systemctl enable ${n}`);
    if (changes.some((c) => c.summary.startsWith("disable"))) cmds.push(`systemctl disable ${n}`);
    if (changes.some((c) => c.summary.startsWith("start"))) cmds.push(`systemctl start ${n}`);
    if (changes.some((c) => c.summary.startsWith("stop"))) cmds.push(`systemctl stop ${n}`);
    if (p.state === "restarted") cmds.push(`systemctl restart ${n}`);
    if (p.state === "reloaded" && changes.some((c) => c.summary.startsWith("reload")))
      cmds.push(`systemctl reload-or-restart ${n}`);
    if (cmds.length) await run(host, cmds.join(" && "), { timeoutSec: 300 });
  },
};
