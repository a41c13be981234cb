/**
 * `powerstack teardown`'s command layer: which roles run (--only/--skip, --purge-data), the confirmation
 * list, and the confirmation itself through the real CLI: refused without a terminal and without --yes
 * (exit 2, before the vault is read), and asked in a real terminal (tmux), where "no" changes nothing.
 * No node is contacted here: the inventory points at an address nothing listens on.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { planTeardown, selectRoles, type TeardownFlags } from "../../src/cli/teardown.js";
import { filterRoles, loadPlaybook, selectRun } from "../../src/engine/playbook.js";
import { confirmationList, incompletePlan } from "../../src/engine/teardown-listing.js";
import type { TaskResult } from "../../src/engine/types.js";
import { packageRoot } from "../../src/package-root.js";
import { VaultStore } from "../../src/vault/store.js";
import { cliArgv, runCli, sandbox } from "../init/helpers/cli.js";
import { TmuxSession } from "../init/helpers/tmux.js";
import { emptyModel, FakeNode, type NodeModel, type Sent } from "./support/fake-node.js";
import { provisioned } from "./support/provisioned.js";
import { inventory, runTeardown } from "./support/run-teardown.js";
import { failure } from "../support/failure.js";
import { startSshd, type Sshd } from "../support/sshd.js";

const FILE = join(packageRoot(), "playbooks", "teardown.yaml");
const plays = loadPlaybook(FILE);
/** A check run of teardown on provisioned nodes (support/provisioned.ts), as listed. */
const EXPECTED = [
  "teardown-helm",
  "  ctl          helm uninstall kepler -n kepler",
  "  ctl          helm uninstall kube-prometheus-stack -n monitoring",
  "  ctl          remove /var/lib/powerstack/helm/kepler",
  "teardown-cluster-storage",
  "  ctl          reclaim policy Retain on PersistentVolume powerstack-grafana (its data stays on the disk)",
  "  ctl          delete PersistentVolumeClaim monitoring/prometheus-kube-prometheus-stack-prometheus-db-prometheus-kube-prometheus-stack-prometheus-0",
  "  ctl          delete PersistentVolumeClaim monitoring/powerstack-grafana",
  "  ctl          delete PersistentVolume powerstack-prometheus",
  "  ctl          delete PersistentVolume powerstack-grafana",
  "  ctl          delete PersistentVolume powerstack-alertmanager",
  "  ctl          delete StorageClass powerstack-nfs",
  "  ctl          delete namespace kepler",
  "  ctl          delete namespace monitoring",
  "teardown-k3s-agent",
  "  w1, w2       uninstall the K3s agent (/usr/local/bin/k3s-agent-uninstall.sh)",
  "  w1, w2       remove /var/lib/powerstack/k3s-install.sh",
  "teardown-k3s-server",
  "  ctl          uninstall the K3s server (/usr/local/bin/k3s-uninstall.sh)",
  "  ctl          remove /var/lib/powerstack/k3s-install.sh",
  "teardown-nfs-client",
  "  w1, w2       unmount /mnt/data",
  "  w1, w2       remove /mnt/data from /etc/fstab",
  "teardown-nfs-server",
  "  ctl          remove line in /etc/exports: /mnt/data 198.51.100.0/24(rw,sync,no_subtree_check,no_root_squash)",
  "  ctl          exportfs -ra",
  "teardown-storage",
  "  ctl          unmount /mnt/data",
  "  ctl          remove /mnt/data from /etc/fstab",
  "teardown-kernel",
  "  ctl, w1, w2  remove /etc/sysctl.d/90-powerstack.conf",
];
const roles = (flags: Parameters<typeof selectRoles>[1]) => {
  const po = selectRoles(plays, flags, FILE);
  return filterRoles(plays, po.only, po.skip).flatMap((p) => p.roles);
};

describe("teardown role selection", () => {
  test("the purge role runs only with --purge-data, after the unmount", () => {
    expect(roles({})).toEqual([
      "teardown-rancher",
      "teardown-helm",
      "teardown-cluster-storage",
      "teardown-k3s-agent",
      "teardown-k3s-server",
      "teardown-nfs-client",
      "teardown-nfs-server",
      "teardown-storage",
      "teardown-kernel",
    ]);
    expect(roles({ purgeData: true })).toContain("teardown-purge-data");
    expect(roles({ purgeData: true }).indexOf("teardown-purge-data")).toBe(
      roles({ purgeData: true }).indexOf("teardown-storage") + 1,
    );
    // Even a playbook or --only naming it does not wipe without the flag.
    expect(roles({ only: "teardown-storage,teardown-purge-data" })).toEqual(["teardown-storage"]);
  });

  test("short names, and --only storage with --purge-data brings the wipe along", () => {
    expect(roles({ only: "kernel,k3s-server" })).toEqual(["teardown-k3s-server", "teardown-kernel"]);
    expect(roles({ only: "storage", purgeData: true })).toEqual(["teardown-storage", "teardown-purge-data"]);
    expect(roles({ skip: "helm,cluster-storage" })).not.toContain("teardown-helm");
  });

  test("contradictions and typos are usage errors naming the fix", () => {
    expect(() => roles({ only: "kernel", purgeData: true })).toThrow(
      /--purge-data has no effect with --only teardown-kernel/,
    );
    expect(() => roles({ skip: "storage", purgeData: true })).toThrow(
      /can only be wiped after teardown-storage unmounts it/,
    );
    expect(failure(() => roles({ only: "kernal" }))).toMatch(
      /unknown teardown role `kernal` in --only\/--skip\n  fix: did you mean `teardown-kernel`\?/,
    );
  });
});

/** A TaskResult as the runner records it, for the list's own rules. */
const result = (
  host: string,
  play: string,
  task: string,
  summaries: string[],
  extra: Partial<TaskResult> = {},
) =>
  ({
    host,
    play,
    task,
    status: summaries.length ? "changed" : "ok",
    changes: summaries.map((summary) => ({ summary })),
    durationMs: 1,
    ...extra,
  }) as TaskResult;

describe("the confirmation list, from the recorded results", () => {
  test("per role in run order, each change once with its nodes in inventory order; ok and skipped left out", () => {
    const lines = confirmationList(
      [
        // Hosts of one play run in parallel: w2's results may come first.
        result("w2", "Kernel", "teardown-kernel: sysctl drop-in", [
          "remove /etc/sysctl.d/90-powerstack.conf",
        ]),
        result("ctl", "NFS server", "teardown-nfs-server: export /mnt/data", [
          "remove line in /etc/exports: x",
        ]),
        result("ctl", "NFS server", "reload exports", ["exportfs -ra"], { handler: true }),
        result("ctl", "Kernel", "teardown-kernel: sysctl drop-in", [
          "remove /etc/sysctl.d/90-powerstack.conf",
        ]),
        result("w1", "Kernel", "teardown-kernel: sysctl drop-in", [], { status: "skipped" }),
        result("ctl", "Storage", "teardown-storage: mount /mnt/data", [
          "unmount /mnt/data",
          "remove /mnt/data from /etc/fstab",
        ]),
        result("ctl", "Storage", "teardown-storage: mount point /mnt/data", []),
      ].sort((a, b) => (a.play === "Kernel" ? 1 : 0) - (b.play === "Kernel" ? 1 : 0)),
      ["ctl", "w1", "w2"],
    );
    expect(lines).toEqual([
      "teardown-nfs-server",
      "  ctl      remove line in /etc/exports: x",
      "  ctl      exportfs -ra",
      "teardown-storage",
      "  ctl      unmount /mnt/data",
      "  ctl      remove /mnt/data from /etc/fstab",
      "teardown-kernel",
      "  ctl, w2  remove /etc/sysctl.d/90-powerstack.conf",
    ]);
    expect(
      confirmationList([result("ctl", "Kernel", "teardown-kernel: sysctl drop-in", [])], ["ctl"]),
    ).toEqual([]);
  });

  test("a node not reached or a refusal makes the plan incomplete", () => {
    const down = result("w1", "K3s agents", "connect", [], {
      status: "unreachable",
      msg: "w1: connection refused",
    });
    const ok = result("ctl", "Kernel", "teardown-kernel: sysctl drop-in", []);
    expect(incompletePlan([ok, down])).toEqual([down]);
  });
});

describe("the confirmation list comes from a check run of the same plays", () => {
  const NO_VAULT = {
    secret: (k: string): string => {
      throw new Error(`teardown asked for the secret ${k}`);
    },
    hasSecret: () => false,
    storeSecret: async () => {},
  };
  async function plan(nodes: Record<string, NodeModel>, flags: TeardownFlags, limit?: string) {
    const inv = inventory();
    const sent: Sent[] = [];
    const selection = selectRun(inv, plays, { ...selectRoles(plays, flags, FILE), limit });
    const results = await planTeardown(inv, selection, {
      connect: async (h) => new FakeNode(h, nodes[h]!, sent),
      forks: 5,
      scope: NO_VAULT,
    });
    return {
      results,
      sent,
      lines: confirmationList(
        results,
        inv.nodes.map((n) => n.name),
      ),
    };
  }

  test("on provisioned nodes: what each role will do, per node; nothing is sent but reads", async () => {
    const nodes = provisioned();
    const { results, sent, lines } = await plan(nodes, {});
    expect(incompletePlan(results)).toEqual([]);
    expect(sent.filter((s) => !s.probe)).toEqual([]);
    expect(lines).toEqual(EXPECTED);
    expect(lines.join("\n")).not.toContain("WIPE");
  });

  test("every listed change is one the real run then makes, on the same nodes", async () => {
    const nodes = provisioned();
    const { results: planned } = await plan(nodes, {});
    const run = await runTeardown(nodes);
    const made = new Set(run.results.flatMap((r) => r.changes.map((c) => `${r.host}: ${c.summary}`)));
    const listed = planned.flatMap((r) => r.changes.map((c) => `${r.host}: ${c.summary}`));
    expect(listed.length).toBeGreaterThan(10);
    expect(listed.filter((l) => !made.has(l))).toEqual([]);
  });

  test("--purge-data --only storage --limit ctl: the wipe is listed, after the unmount", async () => {
    const { lines, results } = await plan(provisioned(), { purgeData: true, only: "storage" }, "ctl");
    expect(incompletePlan(results)).toEqual([]);
    expect(lines.slice(0, 3)).toEqual([
      "teardown-storage",
      "  ctl  unmount /mnt/data",
      "  ctl  remove /mnt/data from /etc/fstab",
    ]);
    expect(lines.slice(3)).toEqual([
      "teardown-purge-data",
      expect.stringMatching(
        /^  ctl  WIPE the btrfs filesystem "powerstack-data" on \/dev\/vdb once \/mnt\/data is unmounted: Prometheus history and Grafana state are destroyed$/,
      ),
    ]);
  });

  test("nothing present: nothing listed", async () => {
    const { results, lines } = await plan({ ctl: emptyModel(), w1: emptyModel(), w2: emptyModel() }, {});
    expect(incompletePlan(results)).toEqual([]);
    expect(lines).toEqual([]);
  });
});

describe("confirmation through the CLI", { timeout: 120_000 }, () => {
  const PASSWORD = "teardown-test-vault-pw";
  let box: ReturnType<typeof sandbox>;
  let tty: TmuxSession | undefined;
  beforeEach(async () => {
    box = sandbox();
    // Port 9 (discard) on loopback (one address per node): nothing listens, so any connection attempt would fail loudly (exit 3).
    writeFileSync(
      join(box.dir, "inventory.yaml"),
      `vault_file: vault.yaml
cluster: { nfs_network: 198.51.100.0/24 }
ssh: { user: root, known_hosts: off, connect_timeout: 2, connect_retries: 1 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, ssh_address: 127.0.0.1, ssh_port: 9, storage_disk: /dev/vdb }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, ssh_address: 127.0.0.2, ssh_port: 9 }
`,
    );
  });
  afterEach(() => {
    tty?.kill();
    tty = undefined;
    box.remove();
  });

  test("no terminal and no --yes: refused with exit 2 before the vault is read (there is none)", async () => {
    const r = await runCli(["-i", "inventory.yaml", "teardown", "--purge-data"], { cwd: box.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /teardown asks before it removes anything \(.*, and it WIPES the data filesystem\), and there is no terminal to ask on\n  fix: pass --yes to confirm in advance/,
    );
  });

  test("in a terminal, a node it cannot reach: it says which and does not ask (exit 3, nothing changed)", async () => {
    await VaultStore.create(join(box.dir, "vault.yaml"), PASSWORD, { grafana_admin_password: "g-pw-123456" });
    tty = TmuxSession.start(cliArgv("-i", "inventory.yaml", "--log-dir", "logs", "teardown"), {
      cwd: box.dir,
      env: { HOME: box.dir, POWERSTACK_VAULT_PASSWORD: PASSWORD },
    });
    expect(await tty.exitCode()).toBe(3);
    const screen = tty.screen();
    expect(screen).toContain("teardown did not ask: what it would remove could not be planned on every node");
    expect(screen).toMatch(/ctl: connect: /);
    expect(screen).toContain(
      "fix: make the node(s) reachable and fix the error above, or leave them out with --limit",
    );
    expect(screen).not.toContain("Go ahead?");
  });
});

/**
 * The whole confirmation against real OpenSSH on loopback, this machine standing in for both nodes: the
 * check run only reads (facts), so the one thing it can find to remove is what the test puts there, an
 * empty data directory in the sandbox. Answering no must leave it.
 */
describe("confirmation through the CLI, planned on a real node", { timeout: 120_000 }, () => {
  const PASSWORD = "teardown-test-vault-pw";
  let box: ReturnType<typeof sandbox>;
  let sshd: Sshd;
  let tty: TmuxSession | undefined;
  beforeEach(async () => {
    box = sandbox();
    sshd = await startSshd({ addresses: ["127.0.0.1", "127.0.0.2"] });
    mkdirSync(join(box.dir, "data"));
    writeFileSync(
      join(box.dir, "inventory.yaml"),
      `vault_file: vault.yaml
cluster: { nfs_network: 198.51.100.0/24, data_path: ${join(box.dir, "data")} }
ssh:
  user: root
  port: ${sshd.port}
  key_file: ${sshd.keyFile}
  known_hosts: strict
  known_hosts_file: ${sshd.knownHostsFile}
  connect_timeout: 5
  connect_retries: 1
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, ssh_address: 127.0.0.1, storage_disk: /dev/powerstack-test-absent }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, ssh_address: 127.0.0.2 }
`,
    );
    await VaultStore.create(join(box.dir, "vault.yaml"), PASSWORD, { grafana_admin_password: "g-pw-123456" });
  });
  afterEach(async () => {
    tty?.kill();
    tty = undefined;
    await sshd.stop();
    box.remove();
  });

  test("it lists the planned changes per role and node and asks once; no (the default) changes nothing", async () => {
    tty = TmuxSession.start(cliArgv("-i", "inventory.yaml", "--log-dir", "logs", "teardown"), {
      cwd: box.dir,
      env: { HOME: box.dir, POWERSTACK_VAULT_PASSWORD: PASSWORD },
    });
    const screen = await tty.waitFor("Go ahead? (y/N)", 60_000);
    expect(screen).toContain("planning on the nodes (check mode, nothing changes yet)");
    expect(screen).toContain(
      "powerstack teardown will make these changes, in this order (planned just now on the nodes, in check mode):",
    );
    const data = join(box.dir, "data");
    const rmdir = (node: string) => new RegExp(`\\n\\s+${node}\\s+remove the empty directory ${data}\\n`);
    expect(screen).toMatch(/teardown-nfs-client\n/);
    expect(screen).toMatch(rmdir("w1"));
    expect(screen).toMatch(/teardown-storage\n/);
    expect(screen).toMatch(rmdir("ctl"));
    expect(screen.indexOf("teardown-nfs-client")).toBeLessThan(screen.indexOf("teardown-storage"));
    expect(screen).not.toContain("WIPE");
    tty.press("Enter");
    expect(await tty.exitCode()).toBe(1);
    expect(tty.screen()).toContain("teardown cancelled: nothing was changed");
    expect(existsSync(data)).toBe(true);
  });

  test("yes: then it runs for real what it listed (--only nfs-client: the worker's empty data directory)", async () => {
    // --only keeps the real run to one role whose only possible change here is the sandbox's directory.
    tty = TmuxSession.start(
      cliArgv("-i", "inventory.yaml", "--log-dir", "logs", "teardown", "--only", "nfs-client"),
      { cwd: box.dir, env: { HOME: box.dir, POWERSTACK_VAULT_PASSWORD: PASSWORD } },
    );
    const data = join(box.dir, "data");
    const screen = await tty.waitFor("Go ahead? (y/N)", 60_000);
    expect(screen).toMatch(
      new RegExp(`teardown-nfs-client\\n\\s+w1\\s+remove the empty directory ${data}\\n\\s+Go ahead`),
    );
    expect(existsSync(data)).toBe(true);
    tty.type("y");
    tty.press("Enter");
    expect(await tty.exitCode()).toBe(0);
    expect(existsSync(data)).toBe(false);
  });
});
