/**
 * A playbook the real CLI can run with no lab: one `connection: local` play (the operator's machine acts
 * for each node, as the Redfish play does) whose role runs a real slow command and reports progress
 * through ApplyContext.progress, beside an inventory and vault of its own. For tests of what a terminal
 * (or a pipe) shows while `powerstack up` runs.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { VaultStore } from "../../src/vault/store.js";

/** A control node and a worker (documentation addresses: nothing is ever contacted, the play is local). */
const INVENTORY = `cluster:
  nfs_network: 198.51.100.0/24
nodes:
  - name: ctl
    role: control
    internal_ip: 198.51.100.10
    storage_disk: /dev/vdb
  - name: w1
    role: worker
    internal_ip: 198.51.100.11
`;

export const TTY_VAULT_PASSWORD = "tty-test-vault-password";

/** The task that takes `steps` seconds, as listed (`<role>: <task>`), and the progress it reports. */
export const SLOW_TASK = "slow: count slowly";
export const QUICK_TASK = "slow: quick step";
export const stepText = (i: number, steps: number) => `step ${i} of ${steps}`;

/**
 * The role's module. It speaks both shapes of the module contract, the probe/plan(changes) one and the
 * reads/plan(actions)/describe one, so this test of the display does not hinge on that contract: it never
 * reads the node, always has one thing to do, and its apply is a real `sleep` per step on the LocalHost, reporting progress as each step begins.
 */
const role = (steps: number, stepSec: number) => `
const slow = (steps) => ({
  name: "slow-steps",
  probe: () => ({ command: "true", parse: () => true }),
  reads: () => ({}),
  plan: () => (steps > 0 ? [{ kind: "count", summary: "count to " + steps }] : []),
  describe: () => "count to " + steps,
  async apply(ctx) {
    for (let i = 1; i <= steps; i++) {
      ctx.progress?.(\`step \${i} of \${steps}\`);
      const r = await ctx.host.exec("sleep ${stepSec}");
      if (r.code !== 0) throw new Error("sleep failed: " + r.stderr);
    }
  },
});
export const role = {
  name: "slow",
  description: "a slow step that reports progress, and a quick one (terminal tests)",
  tasks: () => ({
    tasks: [
      { name: "count slowly", module: slow(${steps}), params: {} },
      { name: "quick step", module: slow(0), params: {} },
    ],
  }),
};
`;

export interface TtyPlaybook {
  /** The CLI arguments running it: `-i <inventory> up --playbook <file>` (global options first). */
  args: string[];
  /** Environment for the CLI: the vault password, and run logs under `logDir`. */
  env: Record<string, string>;
  logDir: string;
}

/** Write inventory (nodes ctl and w1), vault, role and playbook under `dir`; each step lasts `stepSec`. */
export async function writeTtyPlaybook(dir: string, steps = 3, stepSec = 1): Promise<TtyPlaybook> {
  const vault = join(dir, "vault.yaml");
  // The one secret the inventory names by default (Grafana's admin password): the play never uses it.
  await VaultStore.create(vault, TTY_VAULT_PASSWORD, { grafana_admin_password: "tty-test-grafana" });
  const inventory = join(dir, "inventory.yaml");
  writeFileSync(inventory, `vault_file: ${vault}\n${INVENTORY}`);
  writeFileSync(join(dir, "slow-role.ts"), role(steps, stepSec));
  const playbook = join(dir, "playbook.yaml");
  writeFileSync(
    playbook,
    `- name: Slow steps\n  hosts: all\n  connection: local\n  roles: [./slow-role.ts]\n`,
  );
  const logDir = join(dir, "logs");
  return {
    args: ["-i", inventory, "up", "--playbook", playbook],
    env: { POWERSTACK_VAULT_PASSWORD: TTY_VAULT_PASSWORD, POWERSTACK_LOG_DIR: logDir },
    logDir,
  };
}
