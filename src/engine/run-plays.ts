/**
 * A playbook's plays on a runner: load each play's roles, pick its hosts (after --limit), and give every
 * host a RoleContext. The CLI (src/cli/run-playbook.ts) and the boundary tests run playbooks through
 * this one function, so the tests drive the code users run.
 */
import type { Inventory } from "../inventory/types.js";
import { playHosts, type PlayDef } from "./playbook.js";
import { loadRole } from "./role-registry.js";
import { tasksFromRoles, type RoleContext } from "./role.js";
import type { Runner } from "./runner.js";

/** What every host's RoleContext shares in one run: the vault and the operator's flags. */
export type RunScope = Pick<RoleContext, "allowFormat" | "secret" | "hasSecret" | "storeSecret">;

export async function runPlays(
  runner: Runner,
  plays: readonly PlayDef[],
  inventory: Inventory,
  scope: RunScope,
  /** --limit: only these node names. */
  limit?: ReadonlySet<string>,
): Promise<void> {
  const control = inventory.nodes.find((n) => n.role === "control")!;
  for (const play of plays) {
    const roles = await Promise.all(play.roles.map(loadRole));
    await runner.runPlay({
      name: play.name,
      hosts: playHosts(inventory, play, limit),
      anyErrorsFatal: play.anyErrorsFatal,
      local: play.local,
      tasksFor: (host, facts, cache) =>
        tasksFromRoles(roles, {
          ...scope,
          inventory,
          node: inventory.nodes.find((n) => n.name === host)!,
          control,
          facts,
          read: async (ref) => {
            await cache.read([ref]);
            return cache.get(ref);
          },
        }),
    });
  }
}
