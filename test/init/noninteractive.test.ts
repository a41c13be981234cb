/**
 * `powerstack init --defaults`: no terminal, answers from flags and POWERSTACK_* variables, as CI runs it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadInventory } from "../../src/inventory/load.js";
import { VaultStore } from "../../src/vault/store.js";
import { FIXTURES, runCli, sandbox } from "./helpers/cli.js";

// Each run starts tsx, which compiles the CLI: generous on a loaded machine, still bounded.
const CLI_TIMEOUT_MS = 120_000;

const NODES = [
  "--node",
  "name=node1,role=control,internal_ip=198.51.100.11,external_ip=192.0.2.11,storage_disk=/dev/disk/by-id/ata-DATA1,bmc.address=https://203.0.113.11,bmc.username=admin",
  "--node",
  "name=node2,role=worker,internal_ip=198.51.100.12,bmc.address=https://203.0.113.12,bmc.username=admin",
];
const SECRETS = {
  POWERSTACK_VAULT_PASSWORD: "vault-pw-1",
  POWERSTACK_GRAFANA_ADMIN_PASSWORD: "grafana-pw-1",
  POWERSTACK_BMC_PASSWORD: "bmc-shared-pw",
  POWERSTACK_BMC_PASSWORD_NODE2: "bmc-node2-pw",
  POWERSTACK_SLACK_WEBHOOK: "https://hooks.slack.com/services/T000/B000/XXXX",
};

let box: ReturnType<typeof sandbox>;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.remove());

const inventoryFile = () => join(box.dir, "inventory/inventory.yaml");
const vaultFile = () => join(box.dir, "vault/vault.yaml");

describe("powerstack init --defaults", { timeout: CLI_TIMEOUT_MS }, () => {
  it("lists every missing answer with the flag or variable that supplies it, and writes nothing", async () => {
    const r = await runCli(["init", "--defaults"], { cwd: box.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing or invalid answers");
    expect(r.stderr).toContain("nodes: no value given\n    pass --node name=node1,role=control,internal_ip=");
    expect(r.stderr).toContain(
      "cluster.nfs_network: no value given\n    pass --set cluster.nfs_network=<an IPv4 CIDR",
    );
    expect(r.stderr).toContain("set the environment variable POWERSTACK_GRAFANA_ADMIN_PASSWORD");
    expect(r.stderr).toContain(
      "vault password: no value given\n    pass --vault-password-file <file> or set POWERSTACK_VAULT_PASSWORD",
    );
    expect(existsSync(join(box.dir, "inventory"))).toBe(false);
    expect(existsSync(join(box.dir, "vault"))).toBe(false);
  });

  it("writes a commented inventory that loads, and a vault that opens, with secrets only in the vault", async () => {
    const r = await runCli(
      [
        "init",
        "--defaults",
        ...NODES,
        "--set",
        "cluster.node_ports.grafana=30031",
        "--set",
        "ssh.user=ubuntu",
      ],
      {
        cwd: box.dir,
        env: SECRETS,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Next: powerstack up --check -i inventory/inventory.yaml");

    const inv = loadInventory(inventoryFile());
    expect(inv.nodes.map((n) => [n.name, n.role, n.internalIp])).toEqual([
      ["node1", "control", "198.51.100.11"],
      ["node2", "worker", "198.51.100.12"],
    ]);
    expect(inv.cluster.nfsNetwork).toBe("198.51.100.0/24"); // derived from the control node's IP
    expect(inv.cluster.nodePorts).toEqual({ prometheus: 30090, grafana: 30031, alertmanager: 30093 });
    expect(inv.vaultFile).toBe(vaultFile());
    // Different BMC passwords: one vault key per node.
    expect(inv.nodes.map((n) => n.bmc?.passwordSecret)).toEqual(["bmc_password_node1", "bmc_password_node2"]);

    const text = readFileSync(inventoryFile(), "utf8");
    expect(text).toMatch(/^# powerstack inventory/);
    expect(text).toContain("# NodePorts (30000-32767)");
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);

    expect(statSync(vaultFile()).mode & 0o777).toBe(0o600);
    const vault = await VaultStore.open(vaultFile(), "vault-pw-1");
    expect(vault.get("grafana_admin_password")).toBe("grafana-pw-1");
    expect(vault.get("bmc_password_node1")).toBe("bmc-shared-pw");
    expect(vault.get("bmc_password_node2")).toBe("bmc-node2-pw");
    expect(vault.get("slack_webhook")).toBe(SECRETS.POWERSTACK_SLACK_WEBHOOK);
    expect(vault.get("k3s_token")).toMatch(/^[0-9a-f]{64}$/);
    // No sudo password was given: no key for it.
    expect(vault.has("become_password")).toBe(false);
  });

  it("writes a vault ansible-vault itself can read", async () => {
    const r = await runCli(["init", "--defaults", ...NODES, "--vault-password-file", "pw.txt"], {
      cwd: box.dir,
      env: { ...SECRETS, POWERSTACK_VAULT_PASSWORD: "" },
    });
    expect(r.code).toBe(2); // the file does not exist yet
    expect(r.stderr).toContain("vault password file pw.txt does not exist");

    writeFileSync(join(box.dir, "pw.txt"), "file-pw\n");
    const ok = await runCli(["init", "--defaults", ...NODES, "--vault-password-file", "pw.txt"], {
      cwd: box.dir,
      env: { ...SECRETS, POWERSTACK_VAULT_PASSWORD: "" },
    });
    expect(ok.code).toBe(0);
    const plain = execFileSync(
      "ansible-vault",
      ["view", "--vault-password-file", "pw.txt", "vault/vault.yaml"],
      { cwd: box.dir, encoding: "utf8" },
    );
    expect(plain).toContain("grafana_admin_password: grafana-pw-1");
  });

  it("refuses to overwrite existing files without --yes, and replaces them with it", async () => {
    expect((await runCli(["init", "--defaults", ...NODES], { cwd: box.dir, env: SECRETS })).code).toBe(0);
    const before = [readFileSync(inventoryFile(), "utf8"), readFileSync(vaultFile(), "utf8")];

    const again = await runCli(
      ["init", "--defaults", ...NODES, "--set", "cluster.node_ports.grafana=30032"],
      { cwd: box.dir, env: SECRETS },
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      "inventory/inventory.yaml and vault/vault.yaml already exist; refusing to overwrite without --yes",
    );
    expect(again.stderr).toContain("fix: pass --yes to replace them");
    expect([readFileSync(inventoryFile(), "utf8"), readFileSync(vaultFile(), "utf8")]).toEqual(before);

    const yes = await runCli(
      ["init", "--defaults", "--yes", ...NODES, "--set", "cluster.node_ports.grafana=30032"],
      {
        cwd: box.dir,
        env: { ...SECRETS, POWERSTACK_VAULT_PASSWORD: "vault-pw-2" },
      },
    );
    expect(yes.code).toBe(0);
    expect(loadInventory(inventoryFile()).cluster.nodePorts.grafana).toBe(30032);
    expect((await VaultStore.open(vaultFile(), "vault-pw-2")).get("grafana_admin_password")).toBe(
      "grafana-pw-1",
    );
  });

  it("rejects a bad flag value at once, naming the flag and the fix", async () => {
    const r = await runCli(
      [
        "init",
        "--defaults",
        ...NODES,
        "--set",
        "cluster.node_ports.grafana=80",
        "--set",
        "cluster.nfs_netwrk=x",
      ],
      { cwd: box.dir, env: SECRETS },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "--set cluster.node_ports.grafana=80: 80 is outside the allowed range 30000-32767",
    );
    const typo = await runCli(["init", "--defaults", ...NODES, "--set", "cluster.nfs_netwrk=x"], {
      cwd: box.dir,
      env: SECRETS,
    });
    expect(typo.stderr).toContain(
      "`cluster.nfs_netwrk` is not a setting of the inventory\n  fix: did you mean `cluster.nfs_network`?",
    );
  });

  it("runs the loader's cross-field checks on the answers before writing", async () => {
    const r = await runCli(["init", "--defaults", ...NODES, "--set", "cluster.nfs_network=203.0.113.0/24"], {
      cwd: box.dir,
      env: SECRETS,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "nodes[0].internal_ip: 198.51.100.11 is outside the NFS network 203.0.113.0/24",
    );
    expect(existsSync(inventoryFile())).toBe(false);
  });

  it("without --defaults and without a terminal, says how to run it", async () => {
    const r = await runCli(["init"], { cwd: box.dir, env: SECRETS });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("there is no terminal to ask them on");
    expect(r.stderr).toContain("pass --defaults");
  });
});

describe("powerstack init --defaults --from-ansible", { timeout: CLI_TIMEOUT_MS }, () => {
  it("imports a server/agent inventory and asks (here: lists) only what it lacks", async () => {
    const args = ["init", "--defaults", "--from-ansible", join(FIXTURES, "k3s-ansible-server-agent.yml")];
    const missing = await runCli(args, {
      cwd: box.dir,
      env: { POWERSTACK_VAULT_PASSWORD: "pw", POWERSTACK_GRAFANA_ADMIN_PASSWORD: "g-pw" },
    });
    expect(missing.code).toBe(2);
    // The report: the !vault value is named with where it came from, the unknown variables are listed.
    expect(missing.stdout).toMatch(
      /`bmc_password` \(group k3s_cluster\) \[for [^\]]+\] is encrypted inline \(`!vault`\)/,
    );
    expect(missing.stdout).toContain("`cilium_enabled` (group k3s_cluster)");
    expect(missing.stdout).toContain("`gpu_model` (host 198.51.100.13)");
    // Only the BMC passwords are missing: everything else was imported or has a default.
    const problems = missing.stderr.split("\n").filter((l) => /^ {2}(?!fix:)\S/.test(l));
    expect(problems).toHaveLength(3);
    expect(missing.stderr).toContain(
      "BMC password of node1: the imported `bmc_password` (group k3s_cluster) is encrypted inline",
    );
    expect(missing.stderr).toContain(
      "set the environment variable POWERSTACK_BMC_PASSWORD_NODE1 or POWERSTACK_BMC_PASSWORD",
    );

    const ok = await runCli(args, {
      cwd: box.dir,
      env: {
        POWERSTACK_VAULT_PASSWORD: "pw",
        POWERSTACK_GRAFANA_ADMIN_PASSWORD: "g-pw",
        POWERSTACK_BMC_PASSWORD: "b-pw",
      },
    });
    expect(ok.code).toBe(0);
    const inv = loadInventory(inventoryFile());
    expect(inv.nodes.map((n) => [n.name, n.role, n.internalIp, n.bmc?.address])).toEqual([
      ["node1", "control", "198.51.100.11", "https://203.0.113.11"],
      ["node2", "worker", "198.51.100.12", "https://203.0.113.12"],
      ["node3", "worker", "198.51.100.13", "https://203.0.113.13"],
    ]);
    expect(inv.ssh.user).toBe("debian");
    expect(inv.cluster).toMatchObject({
      dataPath: "/srv/powerstack",
      nfsNetwork: "198.51.100.0/24",
      k3s: { version: "v1.30.2+k3s1" },
    });
    const vault = await VaultStore.open(vaultFile(), "pw");
    expect(vault.get("k3s_token")).toBe("changeme-0123456789");
    expect(vault.get("bmc_password")).toBe("b-pw");
  });

  it("imports a master/node inventory; the Jinja values must be supplied", async () => {
    const args = ["init", "--defaults", "--from-ansible", join(FIXTURES, "master-node.yml")];
    const missing = await runCli(args, { cwd: box.dir, env: { POWERSTACK_VAULT_PASSWORD: "pw" } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      "nodes[1].internal_ip: the imported `internal_ip` (host wrk1.lab.example) is a Jinja expression",
    );
    expect(missing.stderr).toContain("pass --set nodes[1].internal_ip=<an IPv4 address");
    expect(missing.stderr).toContain(
      "K3s cluster token: the imported `k3s_token` (group all) is a Jinja expression",
    );

    const ok = await runCli([...args, "--set", "nodes[1].internal_ip=192.0.2.11"], {
      cwd: box.dir,
      env: { POWERSTACK_VAULT_PASSWORD: "pw", POWERSTACK_K3S_TOKEN: "generate" },
    });
    expect(ok.code).toBe(0);
    const inv = loadInventory(inventoryFile());
    expect(inv.nodes.map((n) => n.name)).toEqual(["ctl1", "wrk1", "wrk2"]);
    expect(inv.cluster.kepler.flavour).toBe("legacy");
    const vault = await VaultStore.open(vaultFile(), "pw");
    expect(vault.get("bmc_password")).toBe("redfish-secret");
    expect(vault.get("k3s_token")).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(inventoryFile(), "utf8")).toContain("Written by `powerstack init` from");
  });
});
