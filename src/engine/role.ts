/**
 * A role: typed TypeScript that turns the inventory into a list of module calls for one node. Roles are
 * code (the compiler checks every parameter); plays (which roles, on which hosts, in what order) are YAML.
 */
import type { SecretStore } from "../facts/vault.js";
import type { Inventory, NodeSpec } from "../inventory/types.js";
import type { FactRef } from "./fact.js";
import type { Facts } from "./facts.js";
import type { HostTasks } from "./runner.js";
import type { Task } from "./types.js";

export interface RoleContext {
  inventory: Inventory;
  node: NodeSpec;
  facts: Facts;
  /**
   * Read a fact of the node before the tasks are listed (e.g. whether K3s is installed at all): through
   * the host's fact cache, so the tasks that read the same fact do not read it again. Read-only.
   */
  read<T>(fact: FactRef<T>): Promise<T>;
  /** The control node (K3s server, NFS server). */
  control: NodeSpec;
  /** `--allow-format <disk>`: the one disk the operator allowed to be wiped. */
  allowFormat?: string;
  /** A secret from the vault by key (throws a clear error when missing). */
  secret(name: string): string;
  /** Store a secret generated during the run (e.g. the K3s token) back into the vault. */
  storeSecret(name: string, value: string): Promise<void>;
  hasSecret(name: string): boolean;
}

/** The vault as the modules that read or store a secret while they run take it (facts/vault.ts). */
export function vaultOf(ctx: Pick<RoleContext, "secret" | "hasSecret" | "storeSecret">): SecretStore {
  return { has: (n) => ctx.hasSecret(n), get: (n) => ctx.secret(n), store: (n, v) => ctx.storeSecret(n, v) };
}

export interface Role {
  readonly name: string;
  /** What the role does, for `--help` style listings and the README. */
  readonly description: string;
  tasks(ctx: RoleContext): HostTasks | Promise<HostTasks>;
}

/** One host's tasks and handlers from the roles of a play, each task named `<role>: <task>`. */
export async function tasksFromRoles(roles: Role[], ctx: RoleContext): Promise<HostTasks> {
  const tasks: Task[] = [];
  const handlers: NonNullable<HostTasks["handlers"]> = [];
  for (const role of roles) {
    const ht = await role.tasks(ctx);
    tasks.push(...ht.tasks.map((t) => ({ ...t, name: `${role.name}: ${t.name}` })));
    handlers.push(...(ht.handlers ?? []));
  }
  return { tasks, handlers };
}
