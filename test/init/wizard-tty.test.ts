/**
 * The interactive wizard in a real pseudo-terminal (tmux): answers typed key by key, invalid answers
 * refused on the spot with the schema's reason, cross-field problems re-asked, files checked afterwards.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadInventory } from "../../src/inventory/load.js";
import { VaultStore } from "../../src/vault/store.js";
import { cliArgv, FIXTURES, sandbox } from "./helpers/cli.js";
import { TmuxSession } from "./helpers/tmux.js";

// Each run starts tsx, which compiles the CLI: generous on a loaded machine, still bounded.
const CLI_TIMEOUT_MS = 120_000;

// The first prompt waits for tsx to compile the CLI.
const STARTUP_MS = 30_000;

let box: ReturnType<typeof sandbox>;
let tty: TmuxSession | undefined;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => {
  tty?.kill();
  tty = undefined;
  box.remove();
});

function start(...args: string[]): TmuxSession {
  tty = TmuxSession.start(cliArgv(...args), { cwd: box.dir, env: { HOME: box.dir } });
  return tty;
}

async function vaultPassword(t: TmuxSession, password: string): Promise<void> {
  await t.answer("New vault password for vault/vault.yaml:", password);
  await t.answer("Confirm new vault password:", password);
}

describe("powerstack init (interactive)", { timeout: CLI_TIMEOUT_MS }, () => {
  it("asks for everything, refuses invalid answers with the reason, and writes a valid inventory and vault", async () => {
    const t = start("init");
    await t.waitFor("Nodes: one control node", STARTUP_MS);

    // Node 1, with a refused name, a refused IP and a refused BMC address on the way.
    const nameError = await t.rejected(
      "Node 1: name",
      "Node_1",
      "`Node_1` is not a lowercase DNS label such as `node1`",
    );
    expect(nameError).toMatch(/^> `Node_1` is not a lowercase DNS label such as `node1`$/m);
    await t.answer("Node 1: name", "node1");
    await t.answer("node1: role"); // control is offered first
    await t.answer("node1: SSH address", "198.51.100.11");
    await t.rejected("node1: internal IP", "198.51.100.300", "`198.51.100.300` is not an IPv4 address");
    await t.answer("node1: internal IP"); // the SSH address is offered
    await t.answer("node1: external IP", "192.0.2.11");
    await t.answer("node1: empty disk", "/dev/disk/by-id/ata-DATA1");
    await t.answer("node1: does it have a BMC", "y");
    await t.rejected("node1: BMC address", "203.0.113.11", "(Redfish requires TLS)");
    await t.answer("node1: BMC address", "https://203.0.113.11");
    await t.answer("node1: BMC user name", "admin");
    await t.answer("node1: accept the BMC's self-signed TLS certificate", "y");
    await t.answer("Add another node?", "y");

    // Node 2: a worker (offered, since there is a control node) whose IP is outside the network chosen later.
    await t.answer("Node 2: name"); // node2 offered
    await t.answer("node2: role");
    await t.answer("node2: SSH address", "");
    await t.answer("node2: internal IP", "198.51.100.140");
    await t.answer("node2: external IP", "");
    await t.answer("node2: does it have a BMC", "n");
    await t.answer("Add another node?", "n");

    await t.answer("SSH user on the nodes", "");
    await t.answer("SSH private key file", "");
    await t.rejected("K3s version", "1.31", "is not a K3s release tag such as `v1.31.4+k3s1`");
    await t.answer("K3s version", "v1.30.6+k3s1");
    await t.answer("Data path on the control node", "");
    // Documentation ranges are single /24s, so the too-narrow network is a /25 typed here (the default, a /24
    // from the control node's IP, is checked with ctl1 below).
    await t.answer("Internal network allowed to mount the NFS share", "198.51.100.0/25");
    await t.answer("Use the default NodePorts", "n");
    await t.answer("NodePort for prometheus", "");
    await t.rejected("NodePort for grafana", "3000", "3000 is outside the allowed range 30000-32767");
    await t.answer("NodePort for grafana", "30031");
    await t.answer("NodePort for alertmanager", "");
    await t.answer("Use the default volume sizes", "");
    await t.answer("Kepler flavour", "", { keys: ["Down"] }); // legacy

    await t.rejected("Grafana admin password", "", "Grafana admin password is required");
    await t.answer("Grafana admin password", "graf-secret-1");
    await t.answer("BMC password of node1", "bmc-secret-1");
    await t.rejected("Slack webhook URL for alerts", "http://hooks", "a Slack webhook is an https URL");
    await t.answer("Slack webhook URL for alerts", "");
    await t.answer("K3s cluster token", "generate");

    // The loader's cross-field check: node2's IP is outside the network; the network is offered first, pre-filled.
    const cross = await t.waitFor(
      "✖ cluster.nfs_network: 198.51.100.140 is outside the NFS network 198.51.100.0/25",
    );
    expect(cross).toContain(
      "fix: use the node's address on the internal network, or widen `cluster.nfs_network`",
    );
    await t.answer("cluster.nfs_network", "198.51.100.0/24", { clear: true });
    await t.answer("node2: internal_ip"); // keep the (now valid) pre-filled value

    await vaultPassword(t, "vault-pw");
    const done = await t.waitFor("Next: powerstack up --check -i inventory/inventory.yaml");
    expect(done).toContain(
      "Wrote vault/vault.yaml: encrypted, 3 secret(s): k3s_token, grafana_admin_password, bmc_password (K3s token generated)",
    );
    expect(await t.exitCode()).toBe(0);

    const inv = loadInventory(join(box.dir, "inventory/inventory.yaml"));
    expect(inv.nodes.map((n) => [n.name, n.role, n.internalIp, n.externalIp, n.sshAddress])).toEqual([
      ["node1", "control", "198.51.100.11", "192.0.2.11", "198.51.100.11"],
      ["node2", "worker", "198.51.100.140", "198.51.100.140", "198.51.100.140"],
    ]);
    expect(inv.nodes[0]!.bmc).toMatchObject({
      address: "https://203.0.113.11",
      username: "admin",
      insecure: true,
      passwordSecret: "bmc_password",
    });
    expect(inv.nodes[0]!.storageDisk).toBe("/dev/disk/by-id/ata-DATA1");
    expect(inv.nodes[1]!.bmc).toBeUndefined();
    expect(inv.cluster).toMatchObject({
      nfsNetwork: "198.51.100.0/24",
      k3s: { version: "v1.30.6+k3s1" },
      kepler: { flavour: "legacy" },
    });
    expect(inv.cluster.nodePorts).toEqual({ prometheus: 30090, grafana: 30031, alertmanager: 30093 });
    expect(inv.ssh.user).toBe("root");

    const vault = await VaultStore.open(inv.vaultFile, "vault-pw");
    expect(vault.keys().sort()).toEqual(["bmc_password", "grafana_admin_password", "k3s_token"]);
    expect(vault.get("grafana_admin_password")).toBe("graf-secret-1");
    expect(vault.get("bmc_password")).toBe("bmc-secret-1");
    expect(vault.get("k3s_token")).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(box.dir, "inventory/inventory.yaml"), "utf8")).not.toContain("secret-1");
  });

  it("asks before overwriting an existing inventory, and a `no` leaves everything as it was", async () => {
    mkdirSync(join(box.dir, "inventory"));
    writeFileSync(join(box.dir, "inventory/inventory.yaml"), "# mine\n");
    const t = start("init");
    await t.answer("inventory/inventory.yaml already exists. Overwrite it?", "", { timeoutMs: STARTUP_MS }); // default: No
    const screen = await t.waitFor("kept inventory/inventory.yaml; nothing was written");
    expect(screen).toContain("fix: to write elsewhere, pass --output <file>");
    expect(await t.exitCode()).toBe(1);
    expect(readFileSync(join(box.dir, "inventory/inventory.yaml"), "utf8")).toBe("# mine\n");
  });
  it("re-asks what the loader's cross-field checks reject until the answers agree", async () => {
    // Two control nodes from the flags: the loader allows one, so the second's role is asked again, and
    // then its data disk (only the control node has one), which must be clearable.
    const t = start(
      "init",
      "--node",
      "name=a1,role=control,internal_ip=198.51.100.1,storage_disk=/dev/sdb",
      "--node",
      "name=b1,role=control,internal_ip=198.51.100.2,storage_disk=/dev/sdc",
      "--set",
      "cluster.nfs_network=198.51.100.0/24",
    );
    for (const node of ["a1", "b1"]) {
      await t.answer(`${node}: SSH address`, "", { timeoutMs: STARTUP_MS });
      await t.answer(`${node}: external IP`);
      await t.answer(`${node}: does it have a BMC`);
    }
    for (const q of [
      "SSH user on the nodes",
      "SSH private key file",
      "K3s version",
      "Data path on the control node",
    ])
      await t.answer(q);
    for (const q of ["Use the default NodePorts", "Use the default volume sizes", "Kepler flavour"])
      await t.answer(q);
    await t.answer("Grafana admin password", "g-pw");
    await t.answer("Slack webhook URL for alerts");
    await t.answer("K3s cluster token");

    await t.waitFor(
      "✖ nodes[1].role: more than one control node (a1, b1); fix: powerstack runs a single K3s server: make the others `role: worker`",
    );
    await t.answer("b1: role", "", { keys: ["Down"] });
    await t.waitFor(
      "✖ nodes[1].storage_disk: only the control node holds the data disk; fix: remove `storage_disk` from this worker",
    );
    await t.answer("b1: storage_disk (Enter keeps it; Backspace, Enter: none)", "", { keys: ["BSpace"] });
    await vaultPassword(t, "pw");
    await t.waitFor("Next: powerstack up --check -i inventory/inventory.yaml");
    expect(await t.exitCode()).toBe(0);

    const inv = loadInventory(join(box.dir, "inventory/inventory.yaml"));
    expect(inv.nodes.map((n) => [n.name, n.role, n.storageDisk])).toEqual([
      ["a1", "control", "/dev/sdb"],
      ["b1", "worker", undefined],
    ]);
  });

  it("Ctrl-C at a prompt cancels without writing anything", async () => {
    const t = start("init");
    await t.waitFor(/^\? Node 1: name/m, STARTUP_MS);
    t.press("C-c");
    await t.waitFor("powerstack: init cancelled; nothing was written");
    expect(await t.exitCode()).toBe(1);
    // Only the run log (every run leaves one, cancelled or not): no inventory, no vault.
    expect(readdirSync(box.dir).filter((f) => f !== "logs")).toEqual([]);
  });
});

describe("powerstack init --from-ansible (interactive)", { timeout: CLI_TIMEOUT_MS }, () => {
  it("imports a master/node inventory, reports the Jinja values and asks only for what is missing", async () => {
    const t = start("init", "--from-ansible", join(FIXTURES, "master-node.yml"));
    const report = await t.waitFor("needs input (asked below):", STARTUP_MS);
    expect(report).toContain("Imported 3 host(s) from");
    expect(report).toContain("`internal_ip` (host wrk1.lab.example) is a Jinja expression");
    expect(report).toContain(
      "`k3s_token` (group all) is a Jinja expression `{{ lookup('env', 'K3S_TOKEN') }}`",
    );
    expect(report).toContain("`monitoring_team` (group all): not recognised");
    expect(report).toContain("`rack` (host wrk2.lab.example): not recognised");

    // Only the gaps: wrk1's internal IP (with why), the NFS network, the K3s token (Jinja), then the vault password.
    const ip = await t.waitFor(/^\? wrk1: internal IP/m);
    expect(ip).toContain("ℹ the imported `internal_ip` (host wrk1.lab.example) is a Jinja expression");
    await t.answer("wrk1: internal IP", "192.0.2.11");
    await t.answer("Internal network allowed to mount the NFS share", ""); // 192.0.2.0/24 from ctl1
    await t.answer("K3s cluster token", "my-cluster-token");
    await vaultPassword(t, "import-pw");
    const done = await t.waitFor("Next: powerstack up --check -i inventory/inventory.yaml");
    // None of the questions a fresh wizard asks (SSH user, NodePorts, Grafana password...) came up.
    expect(done).not.toMatch(
      /^[?✔] (SSH user on the nodes|Use the default NodePorts|Grafana admin password|Add another node)/m,
    );
    expect(await t.exitCode()).toBe(0);

    const inv = loadInventory(join(box.dir, "inventory/inventory.yaml"));
    expect(inv.nodes.map((n) => [n.name, n.internalIp])).toEqual([
      ["ctl1", "192.0.2.10"],
      ["wrk1", "192.0.2.11"],
      ["wrk2", "192.0.2.12"],
    ]);
    const vault = await VaultStore.open(inv.vaultFile, "import-pw");
    expect(vault.get("k3s_token")).toBe("my-cluster-token");
    expect(vault.get("grafana_admin_password")).toBe("grafana-secret");
  });

  it("imports a server/agent inventory keyed by IP: asks the node names and the !vault BMC password", async () => {
    const t = start("init", "--from-ansible", join(FIXTURES, "k3s-ansible-server-agent.yml"));
    const report = await t.waitFor("needs input (asked below):", STARTUP_MS);
    expect(report).toMatch(
      /`bmc_password` \(group k3s_cluster\) \[for [^\]]+\] is encrypted inline \(`!vault`\)/,
    );

    for (const [i, ip] of ["198.51.100.11", "198.51.100.12", "198.51.100.13"].entries()) {
      await t.answer(`Node ${i + 1}: name`, `k${i + 1}`);
      await t.answer(`k${i + 1}: internal IP (cluster network: K3s node-ip, NFS) (${ip})`);
    }
    await t.answer("Grafana admin password", "g-pw");
    await t.answer("Do the BMCs of k1, k2, k3 share one password?", "");
    await t.answer("BMC password", "shared-bmc");
    await vaultPassword(t, "sa-pw");
    await t.waitFor("Next: powerstack up --check -i inventory/inventory.yaml");
    expect(await t.exitCode()).toBe(0);

    const inv = loadInventory(join(box.dir, "inventory/inventory.yaml"));
    expect(inv.nodes.map((n) => [n.name, n.role, n.internalIp])).toEqual([
      ["k1", "control", "198.51.100.11"],
      ["k2", "worker", "198.51.100.12"],
      ["k3", "worker", "198.51.100.13"],
    ]);
    const vault = await VaultStore.open(inv.vaultFile, "sa-pw");
    expect(vault.get("bmc_password")).toBe("shared-bmc");
    expect(vault.get("k3s_token")).toBe("changeme-0123456789");
  });
});

describe(
  "powerstack init --from-ansible with an Ansible vault (interactive)",
  { timeout: CLI_TIMEOUT_MS },
  () => {
    it("offers to read the vault the inventory refers to, asks its password once, and asks nothing it holds", async () => {
      mkdirSync(join(box.dir, "configs"));
      for (const f of ["inventory.yml", "vault.yml"])
        writeFileSync(join(box.dir, "configs", f), readFileSync(join(FIXTURES, "original", f)));
      const before = readFileSync(join(box.dir, "configs/vault.yml"), "utf8");
      const t = start("init", "--from-ansible", "configs/inventory.yml");
      await t.answer(
        "configs/inventory.yml refers to an Ansible vault (ansible_vault.token, ansible_vault.bootstrapPassword). Read configs/vault.yml for those values?",
        "",
        { timeoutMs: STARTUP_MS },
      );
      await t.answer(
        "Vault password to read the Ansible vault configs/vault.yml:",
        "original-fixture-vault-pw",
      );
      const done = await t.waitFor("Next: powerstack up --check -i inventory/inventory.yaml");
      expect(done).toContain("Read the Ansible vault configs/vault.yml");
      // No question after the password: everything came from the inventory and its vault (no new vault either).
      expect(done.split("Vault password to read the Ansible vault")[1]).not.toMatch(/^\? /m);
      expect(await t.exitCode()).toBe(0);

      const inv = loadInventory(join(box.dir, "inventory/inventory.yaml"));
      expect(inv.vaultFile).toBe(join(box.dir, "configs/vault.yml"));
      expect(readFileSync(inv.vaultFile, "utf8")).toBe(before);
      expect(inv.cluster.k3s.tokenSecret).toBe("ansible_vault.token");
    });
  },
);
