/**
 * Coming from the original Ansible setup, all the way to the nodes: an inventory in the original project's
 * shape (fixtures/original/inventory.yml, with the lab's addresses, key, ProxyCommand and known_hosts in the
 * Ansible variables users set them in) and its untouched nested vault (a real `ansible-vault encrypt`) are
 * imported by `init --defaults --from-ansible`; the written inventory then drives `up --check` on the
 * container lab with that same vault, which stays byte for byte what Ansible wrote.
 */
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labInfo } from "../lab/lab-info.js";
import { runCli as runLabCli } from "../support/lab.js";
import { importOriginal, ORIGINAL, ORIGINAL_VAULT_PASSWORD } from "./helpers/original-import.js";

let dir: string;
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The original inventory with the fixture's documentation addresses swapped for the lab's nodes. */
function labShapedOriginal(): string {
  const lab = labInfo();
  const ip = (name: string) => lab.nodes.find((n) => n.name === name)!.ip;
  const swaps: Array<[RegExp, string]> = [
    [/198\.51\.100\.21|10\.20\.0\.21/g, ip("ctl")],
    [/198\.51\.100\.22|10\.20\.0\.22/g, ip("w1")],
    [/198\.51\.100\.23|10\.20\.0\.23/g, ip("w2")],
    [/node_name: rs1/, "node_name: ctl"],
    [/node_name: rs2/, "node_name: w1"],
    [/node_name: rs3/, "node_name: w2"],
    [/control_node_name: rs1/, "control_node_name: ctl"],
    [/10\.20\.0\.0\/24/, lab.subnet],
    [/\/dev\/disk\/by-id\/ata-DATA-rs1/, "/dev/vdb"],
    [/ansible_user: ubuntu/, "ansible_user: root"],
  ];
  let text = readFileSync(join(ORIGINAL, "inventory.yml"), "utf8");
  for (const [from, to] of swaps) text = text.replace(from, to);
  // How an Ansible user reaches hosts behind a relay with their own known_hosts: the connection variables.
  return text.replace(
    /^(\s+)ansible_user: root$/m,
    `$1ansible_user: root\n$1ansible_ssh_private_key_file: ${lab.keyFile}\n` +
      `$1ansible_ssh_common_args: '-o ProxyCommand="${lab.proxyCommand}" -o UserKnownHostsFile=${lab.knownHostsFile}'`,
  );
}

beforeAll(() => {
  dir = join(labInfo().runDir, "ansible-original");
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the original Ansible setup, imported, then `up --check` on the lab with its untouched vault", () => {
  test("init imports it without asking anything; the inventory refers into the Ansible vault", async () => {
    const imported = await importOriginal(dir, { inventoryText: labShapedOriginal() });
    const vaultBefore = sha(join(ORIGINAL, "vault.yml"));
    expect(imported.result.code, imported.result.stderr).toBe(0);
    const inventory = readFileSync(imported.inventory, "utf8");
    expect(inventory).toContain("token_secret: ansible_vault.token");
    expect(inventory).toContain(`proxy_command: ${labInfo().proxyCommand}`);
    expect(sha(imported.vault)).toBe(vaultBefore);
  });

  test("up --check through the written inventory and the Ansible vault: every node reached, nothing changed", async () => {
    const vaultBefore = sha(join(dir, "configs/vault.yml"));
    const r = await runLabCli(
      ["-i", join(dir, "powerstack/inventory.yaml"), "--json", "up", "--check", "--only", "kernel"],
      { POWERSTACK_VAULT_PASSWORD: ORIGINAL_VAULT_PASSWORD },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.recap!.hosts).sort()).toEqual(["ctl", "w1", "w2"]);
    for (const h of ["ctl", "w1", "w2"])
      expect(r.recap!.hosts[h]).toMatchObject({ failed: 0, unreachable: 0 });
    expect(r.tasks.map((t) => t.task)).toContain("kernel: kernel.perf_event_paranoid");
    // Check mode and a reference vault: the user's Ansible vault is read, never written.
    expect(sha(join(dir, "configs/vault.yml"))).toBe(vaultBefore);
    expect(r.stdout + r.stderr).not.toContain("K10-test-token-0123456789abcdef");
  });
});
