/**
 * Run some roles of the real playbooks/up.yaml (through the CLI's own runPlays and Runner) against a
 * stand-in control node, with a vault given as a plain map: the harness of the monitoring boundary tests.
 */
import { join } from "node:path";
import { filterRoles, loadPlaybook } from "../../src/engine/playbook.js";
import { runPlays } from "../../src/engine/run-plays.js";
import { Runner } from "../../src/engine/runner.js";
import type { TaskResult } from "../../src/engine/types.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import type { Host } from "../../src/transport/host.js";

export async function runRoles(
  inv: Inventory,
  node: Host,
  roles: string[],
  opts: { check?: boolean; vault: Record<string, string> },
) {
  const check = opts.check ?? false;
  const plays = filterRoles(loadPlaybook(join(packageRoot(), "playbooks", "up.yaml")), roles);
  const results: TaskResult[] = [];
  const runner = new Runner({
    check,
    forks: 5,
    connect: async () => node,
    reporter: { playStart() {}, taskResult: (r) => results.push(r), playEnd() {} },
  });
  await runPlays(runner, plays, inv, {
    check,
    secret: (k) => opts.vault[k]!,
    hasSecret: (k) => k in opts.vault,
    storeSecret: async () => {},
  });
  await runner.close();
  return { plays, results, changed: results.filter((r) => r.status === "changed").map((r) => r.task) };
}
