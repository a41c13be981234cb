/**
 * Helpers for lab tests: connect to a lab node as powerstack does, make the lab's vault, and run the
 * real CLI (a child process, as a user would) with --json so results can be asserted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { VaultStore } from "../../src/vault/store.js";
import { parseInventory } from "../../src/inventory/load.js";
import { readFileSync } from "node:fs";
import { SshHost } from "../../src/transport/ssh-host.js";
import { labInfo } from "../lab/lab-info.js";

export const LAB_VAULT_PASSWORD = "lab-vault-password-Xq7";
/** Every secret the lab vault holds: tests grep outputs and logs for these. */
export const LAB_SECRETS = {
  grafana_admin_password: "grafana-lab-S3cret-9f2",
  k3s_token: "k3s-lab-token-7d1e0c",
};

export async function ensureLabVault(): Promise<string> {
  const { vaultFile } = labInfo();
  if (!existsSync(vaultFile)) await VaultStore.create(vaultFile, LAB_VAULT_PASSWORD, LAB_SECRETS);
  return vaultFile;
}

export function labInventory() {
  const { inventoryFile } = labInfo();
  return parseInventory(readFileSync(inventoryFile, "utf8"), inventoryFile);
}

export async function labHost(name: string): Promise<SshHost> {
  const inv = labInventory();
  const node = inv.nodes.find((n) => n.name === name)!;
  return SshHost.connect({ name, address: node.sshAddress, port: node.sshPort }, inv.ssh);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** --json task results. */
  tasks: Array<{
    host: string;
    task: string;
    status: string;
    handler?: boolean;
    changes: Array<{ summary: string }>;
    msg?: string;
  }>;
  recap?: {
    hosts: Record<
      string,
      { ok: number; changed: number; failed: number; skipped: number; unreachable: number }
    >;
  };
}

/** Run `powerstack <args>` against the lab inventory, as a child process. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** Start `powerstack <args>` against the lab inventory: the child (to signal it) and its outcome. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<CliRun> } {
  const { inventoryFile, runDir } = labInfo();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bin/powerstack.ts", "-i", inventoryFile, "--log-dir", `${runDir}/logs`, ...args],
    {
      env: { ...process.env, POWERSTACK_VAULT_PASSWORD: LAB_VAULT_PASSWORD, CI: "true", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const done = new Promise<CliRun>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const objects = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        tasks: objects.filter((o) => o.type === "task"),
        recap: objects.find((o) => o.type === "recap"),
      });
    });
  });
  return { child, done };
}

/**
 * A login user on a lab node whose sudo asks for `password` (or, without one, NOPASSWD sudo), reachable
 * with the lab's root key. The password goes to chpasswd on stdin, never into a command line.
 */
export async function ensureSudoUser(root: SshHost, user: string, password?: string): Promise<void> {
  const rule = password ? `${user} ALL=(ALL) ALL` : `${user} ALL=(ALL) NOPASSWD: ALL`;
  const r = await root.exec(
    [
      "set -e",
      "command -v sudo >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -q sudo >/dev/null 2>&1 || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q sudo >/dev/null))",
      `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/sh ${user}`,
      `install -d -m700 -o ${user} -g ${user} /home/${user}/.ssh`,
      `install -m600 -o ${user} -g ${user} /root/.ssh/authorized_keys /home/${user}/.ssh/authorized_keys`,
      password ? "chpasswd" : "true",
      `echo '${rule}' > /etc/sudoers.d/${user}; chmod 440 /etc/sudoers.d/${user}`,
    ].join("\n"),
    { stdin: password ? `${user}:${password}\n` : undefined, timeoutSec: 300 },
  );
  if (r.code !== 0 || r.stderr !== "") throw new Error(`cannot set up sudo user ${user}: ${r.stderr}`);
}

export async function removeSudoUser(root: SshHost, user: string): Promise<void> {
  await root.exec(`rm -f /etc/sudoers.d/${user}; userdel -r ${user} 2>/dev/null; true`);
}

export function changedTasks(run: CliRun): string[] {
  return run.tasks.filter((t) => t.status === "changed").map((t) => `${t.host}: ${t.task}`);
}
