/**
 * Run the package's own playbooks (up.yaml, teardown.yaml) in a test the way the CLI does (role selection,
 * runPlays, the Runner with its batched probes), against stand-in hosts, collecting every task result.
 * Teardown's role names go through the CLI's own selection (`storage` = teardown-storage, purge-data only
 * with --purge-data).
 */
import { join } from "node:path";
import { selectRoles, type TeardownFlags } from "../../src/cli/teardown.js";
import { filterRoles, loadPlaybook } from "../../src/engine/playbook.js";
import { runPlays } from "../../src/engine/run-plays.js";
import { Runner } from "../../src/engine/runner.js";
import type { TaskResult } from "../../src/engine/types.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import type { Host } from "../../src/transport/host.js";

export interface PlaybookRunOptions {
  inventory: Inventory;
  connect: (host: string) => Promise<Host>;
  check?: boolean;
  /** up: these roles only; teardown: the CLI's flags (--only, --skip, --purge-data). */
  roles?: string[];
  teardown?: TeardownFlags;
  /** The vault as a map; absent: any secret asked for fails the test (teardown needs none). */
  vault?: Record<string, string>;
}

export async function runPlaybook(playbook: "up" | "teardown", o: PlaybookRunOptions) {
  const check = o.check ?? false;
  const file = join(packageRoot(), "playbooks", `${playbook}.yaml`);
  const all = loadPlaybook(file);
  const plays =
    playbook === "teardown"
      ? (({ only, skip }) => filterRoles(all, only, skip))(selectRoles(all, o.teardown ?? {}, file))
      : filterRoles(all, o.roles);
  const results: TaskResult[] = [];
  const runner = new Runner({
    check,
    forks: 10,
    connect: o.connect,
    reporter: { playStart() {}, taskResult: (r) => void results.push(r), playEnd() {} },
  });
  const vault = o.vault;
  await runPlays(runner, plays, o.inventory, {
    secret: (k) => {
      if (!vault || !(k in vault)) throw new Error(`${playbook} asked for the secret ${k}`);
      return vault[k]!;
    },
    hasSecret: (k) => !!vault && k in vault,
    // A secret generated during the run (the K3s token) is stored as `up` stores it in the vault.
    storeSecret: async (k, v) => {
      if (vault) vault[k] = v;
    },
  });
  await runner.close();
  return {
    plays,
    results,
    recap: runner.recap(),
    changed: results.filter((r) => r.status === "changed").map((r) => r.task),
  };
}
