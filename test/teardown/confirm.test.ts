/**
 * `powerstack teardown`'s command layer: which roles run (--only/--skip, --purge-data), the confirmation
 * list, and the confirmation itself through the real CLI: refused without a terminal and without --yes
 * (exit 2, before the vault is read), and asked in a real terminal (tmux), where "no" changes nothing.
 * No node is contacted here: the inventory points at an address nothing listens on.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { describeTeardown, selectRoles } from "../../src/cli/teardown.js";
import { filterRoles, loadPlaybook } from "../../src/engine/playbook.js";
import { packageRoot } from "../../src/package-root.js";
import { VaultStore } from "../../src/vault/store.js";
import { cliArgv, runCli, sandbox } from "../init/helpers/cli.js";
import { TmuxSession } from "../init/helpers/tmux.js";
import { inventory } from "./support/run-teardown.js";
import { failure } from "../support/failure.js";

const FILE = join(packageRoot(), "playbooks", "teardown.yaml");
const plays = loadPlaybook(FILE);
const roles = (flags: Parameters<typeof selectRoles>[1]) => {
  const po = selectRoles(plays, flags, FILE);
  return filterRoles(plays, po.only, po.skip).flatMap((p) => p.roles);
};

describe("teardown role selection", () => {
  test("the purge role runs only with --purge-data, after the unmount", () => {
    expect(roles({})).toEqual([
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

describe("the confirmation list", () => {
  test("per role, in run order, on which nodes; the data kept unless purged", async () => {
    const inv = inventory();
    const lines = await describeTeardown(inv, filterRoles(plays, undefined, ["teardown-purge-data"]));
    expect(lines).toEqual([
      "ctl          Helm releases kepler (namespace kepler), kube-prometheus-stack (namespace monitoring); powerstack's Helm files (/var/lib/powerstack/helm)",
      "ctl          PersistentVolumes on /mnt/data, their claims and StorageClass (the files stay on the disk)",
      "ctl          namespaces kepler, monitoring",
      "w1, w2       K3s agent (/usr/local/bin/k3s-agent-uninstall.sh)",
      "ctl          K3s server and every cluster object (/usr/local/bin/k3s-uninstall.sh)",
      "w1, w2       NFS mount 198.51.100.10:/mnt/data on /mnt/data and its fstab entry",
      "ctl          NFS export of /mnt/data (/etc/exports)",
      "ctl          /mnt/data mount and its fstab entry (the data on /dev/vdb stays)",
      "ctl, w1, w2  sysctl drop-in /etc/sysctl.d/90-powerstack.conf (the live value stays until reboot)",
    ]);
    const purge = await describeTeardown(
      inv,
      filterRoles(plays, ["teardown-storage", "teardown-purge-data"]),
      new Set(["ctl"]),
    );
    expect(purge).toEqual([
      "ctl  /mnt/data mount and its fstab entry (the data on /dev/vdb stays)",
      'ctl  WIPE the data filesystem "powerstack-data" on /dev/vdb: Prometheus history and Grafana state are destroyed',
    ]);
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

  test("in a terminal it lists what it removes and asks once; no (the default) changes nothing", async () => {
    await VaultStore.create(join(box.dir, "vault.yaml"), PASSWORD, { grafana_admin_password: "g-pw-123456" });
    tty = TmuxSession.start(cliArgv("-i", "inventory.yaml", "--log-dir", "logs", "teardown"), {
      cwd: box.dir,
      env: { HOME: box.dir, POWERSTACK_VAULT_PASSWORD: PASSWORD },
    });
    const screen = await tty.waitFor("Go ahead? (y/N)", 60_000);
    expect(screen).toContain("powerstack teardown will remove, in this order, whatever of this is present:");
    expect(screen).toMatch(/ctl\s+\/mnt\/data mount and its fstab entry \(the data on \/dev\/vdb stays\)/);
    expect(screen).not.toContain("WIPE");
    tty.press("Enter");
    expect(await tty.exitCode()).toBe(1);
    expect(tty.screen()).toContain("teardown cancelled: nothing was changed");
  });
});
