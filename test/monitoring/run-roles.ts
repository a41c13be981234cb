/** Some roles of up.yaml against one stand-in control node: the harness of the monitoring boundary tests. */
import type { Inventory } from "../../src/inventory/types.js";
import type { Host } from "../../src/transport/host.js";
import { runPlaybook } from "../support/run-playbook.js";

export const runRoles = (
  inv: Inventory,
  node: Host,
  roles: string[],
  opts: { check?: boolean; vault: Record<string, string> },
) => runPlaybook("up", { inventory: inv, connect: async () => node, roles, ...opts });
