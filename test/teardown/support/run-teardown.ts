/**
 * Run playbooks/teardown.yaml with the real runner, roles and modules against fake nodes (fake-node.ts):
 * what `powerstack teardown --yes` does after its confirmation, minus SSH, through the CLI's own
 * runPlays.
 */
import type { TeardownFlags } from "../../../src/cli/teardown.js";
import type { HostRecap } from "../../../src/engine/runner.js";
import type { TaskResult } from "../../../src/engine/types.js";
import { parseInventory } from "../../../src/inventory/load.js";
import type { Inventory } from "../../../src/inventory/types.js";
import { runPlaybook } from "../../support/run-playbook.js";
import { FakeNode, type NodeModel, type Sent } from "./fake-node.js";

/** An atomic file write (src/modules/remote-file.ts) as `write <path>`; other commands as sent. */
function readable(command: string): string {
  const write = /^set -e\nt=\$\(mktemp [\s\S]*\nmv -f "\$t" '([^']*)'/.exec(command);
  return write ? `write ${write[1]}` : command;
}

export const INVENTORY = `cluster:
  nfs_network: 198.51.100.0/24
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, external_ip: 192.0.2.11 }
  - { name: w2, role: worker, internal_ip: 198.51.100.12, external_ip: 192.0.2.12 }
`;

export const inventory = (text = INVENTORY): Inventory =>
  parseInventory(text, "/tmp/teardown-test/inventory.yaml");

export interface TeardownRun {
  sent: Sent[];
  results: TaskResult[];
  recap: Map<string, HostRecap>;
  /** Commands that change something (no probes), as `host: command`. */
  changes(): string[];
}

export async function runTeardown(
  nodes: Record<string, NodeModel>,
  opts: { check?: boolean; flags?: TeardownFlags; inv?: Inventory } = {},
): Promise<TeardownRun> {
  const sent: Sent[] = [];
  const { results, recap } = await runPlaybook("teardown", {
    inventory: opts.inv ?? inventory(),
    connect: async (h) => new FakeNode(h, nodes[h]!, sent),
    check: opts.check,
    teardown: opts.flags,
  });
  return {
    sent,
    results,
    recap,
    changes: () => sent.filter((s) => !s.probe).map((s) => `${s.host}: ${readable(s.command)}`),
  };
}
