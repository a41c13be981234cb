/**
 * powerstack's host layer on a real kernel (tier 2): the REAL CLI (`bin/powerstack.ts`, `up --json`) runs
 * the kernel, storage, nfs-server and nfs-client roles against two QEMU VMs (ctl, worker), then:
 *   - `up --check` on the fresh pair changes nothing on the nodes;
 *   - the first `up` converges both hosts, and a file written on the worker's NFS mount is read on ctl;
 *   - a rerun changes nothing and restarts nothing (nfs-server keeps its start time; exportfs does not rerun);
 *   - after rebooting both VMs (worker first), WITHOUT powerstack: BTRFS mounted and exported on ctl, the NFS
 *     mount back on the worker from fstab (`_netdev`), the file there, perf_event_paranoid = -1 on both;
 *   - `up` after the reboot changes nothing;
 *   - `teardown --yes` of the same layer removes the NFS mount, the export, the data mount and the sysctl
 *     drop-in and keeps the data on the disk; a second teardown changes nothing; `up` then mounts the kept
 *     filesystem again without formatting it, and the worker reads the file written before.
 * The VMs are booted once by test/lab/vm/global-setup.ts; the steps depend on each other and run in order.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInventory } from "../../../src/inventory/load.js";
import { VaultStore } from "../../../src/vault/store.js";
import { sleep } from "../exec.js";
import { vmInfo, vmNode } from "./vm-info.js";
import { vmReboot, vmSsh } from "./vm-lab.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const ROLES = "kernel,storage,nfs-server,nfs-client";
const TEARDOWN_ROLES = "nfs-client,nfs-server,storage,kernel";
const VAULT_PASSWORD = "vm-lab-vault-password";
const DATA = "/mnt/data";

interface TaskLine {
  type: "task";
  host: string;
  task: string;
  status: "ok" | "changed" | "skipped" | "failed" | "unreachable";
  changes: Array<{ summary: string }>;
  handler?: boolean;
  msg?: string;
  durationMs: number;
}
interface Recap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
}
interface CliRun {
  code: number;
  tasks: TaskLine[];
  recap: Record<string, Recap>;
  seconds: number;
  stderr: string;
}

describe("host layer on real kernels (QEMU VMs)", () => {
  const info = vmInfo();
  const ctl = vmNode(info, "ctl");
  const worker = vmNode(info, "worker");
  const work = join(info.runDir, "powerstack");
  const inventoryFile = join(work, "inventory.yaml");
  const vaultFile = join(work, "vault.yaml");
  const timings: Record<string, number> = { ...info.timings };
  const marker = `written on worker ${Date.now()}`;
  const sh = async (vm: string, cmd: string) => {
    const r = await vmSsh(info, vm, cmd, { timeoutSec: 120 });
    return r.stdout.trim();
  };

  /** `up --only <the host-layer roles>` through the real CLI. */
  const up = (...extra: string[]) => cli("up", "--only", ROLES, ...extra);
  /** `teardown --yes` of the same layer: NFS clients, the export, the data mount, the sysctl drop-in. */
  const teardown = (...extra: string[]) => cli("teardown", "--yes", "--only", TEARDOWN_ROLES, ...extra);

  /** The real CLI in a child process (its own stdout: one JSON object per line). */
  async function cli(...extra: string[]): Promise<CliRun> {
    const t = Date.now();
    const args = [
      "--import",
      "tsx",
      "bin/powerstack.ts",
      "-i",
      inventoryFile,
      "--json",
      "--log-dir",
      join(work, "logs"),
      ...extra,
    ];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (res, rej) => {
        const child = spawn(process.execPath, args, {
          cwd: REPO,
          env: { ...process.env, POWERSTACK_VAULT_PASSWORD: VAULT_PASSWORD, CI: "1" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 840_000);
        child.on("error", rej);
        child.on("close", (c) => {
          clearTimeout(timer);
          res({ code: c ?? 128, stdout: out, stderr: err });
        });
      },
    );
    const objs = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string });
    const recapLine = objs.find((o) => o.type === "recap") as { hosts: Record<string, Recap> } | undefined;
    const r: CliRun = {
      code,
      tasks: objs.filter((o): o is TaskLine => o.type === "task"),
      recap: recapLine?.hosts ?? {},
      seconds: (Date.now() - t) / 1000,
      stderr,
    };
    const notOk = r.tasks
      .filter((x) => x.status !== "ok")
      .map(
        (x) =>
          `  ${x.status} ${x.host} ${x.task}${x.handler ? " (handler)" : ""} ${(x.durationMs / 1000).toFixed(1)} s${x.msg ? `: ${x.msg}` : ""}`,
      );
    process.stderr.write(
      `[vm] ${extra.join(" ")}: exit ${code} in ${r.seconds.toFixed(1)} s; recap ${JSON.stringify(r.recap)}\n${notOk.join("\n")}\n`,
    );
    return r;
  }

  /** What the host-layer roles would touch, as text: equal before and after means nothing changed. */
  const snapshot = async (vm: string) =>
    sh(
      vm,
      [
        "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' btrfs-progs nfs-kernel-server nfs-common 2>&1",
        "md5sum /etc/fstab /etc/exports 2>&1",
        "ls /etc/sysctl.d",
        "sysctl -n kernel.perf_event_paranoid",
        "blkid -p /dev/vdb; echo blkid=$?",
        "findmnt -n " + DATA + "; ls -d " + DATA + " 2>&1",
        "true",
      ].join("; "),
    );

  beforeAll(async () => {
    mkdirSync(work, { recursive: true });
    await VaultStore.create(vaultFile, VAULT_PASSWORD, {
      grafana_admin_password: "vm-lab-grafana",
      k3s_token: "vm-lab-k3s-token-0123456789",
    });
    const node = (n: typeof ctl) =>
      [
        `  - name: ${n.name}`,
        `    role: ${n.role}`,
        `    ssh_address: ${n.sshHost}`,
        `    ssh_port: ${n.sshPort}`,
        `    internal_ip: ${n.labIp}`,
        ...(n.role === "control" ? [`    storage_disk: ${n.spareDisk}`] : []),
      ].join("\n");
    writeFileSync(
      inventoryFile,
      [
        "# Written by test/lab/vm/host-layer.vm.test.ts for the tier-2 VM lab.",
        `vault_file: ${vaultFile}`,
        "cluster:",
        "  name: vmlab",
        `  nfs_network: ${info.subnet}`,
        `  data_path: ${DATA}`,
        "ssh:",
        "  user: root",
        `  key_file: ${info.keyFile}`,
        "  known_hosts: strict",
        `  known_hosts_file: ${info.knownHostsFile}`,
        "  connect_timeout: 30",
        "nodes:",
        node(ctl),
        node(worker),
        "",
      ].join("\n"),
    );
  });

  afterAll(() => {
    const t = Object.entries(timings).map(([k, v]) => `${k}=${v.toFixed(1)}s`);
    process.stderr.write(`[vm] timings: ${t.join(" ")}\n`);
  });

  it("the inventory for the VMs is valid", () => {
    const inv = loadInventory(inventoryFile);
    expect(inv.nodes.map((n) => [n.name, n.role, n.sshAddress, n.sshPort, n.internalIp])).toEqual([
      ["ctl", "control", "127.0.0.1", ctl.sshPort, "10.88.0.10"],
      ["worker", "worker", "127.0.0.1", worker.sshPort, "10.88.0.11"],
    ]);
    expect(inv.ssh).toMatchObject({
      knownHosts: "strict",
      knownHostsFile: info.knownHostsFile,
      keyFile: info.keyFile,
    });
  });

  it("up --check on the fresh VMs reports what it would do and changes nothing", async () => {
    const before = await Promise.all([snapshot("ctl"), snapshot("worker")]);
    const r = await up("--check");
    timings.check = r.seconds;
    const after = await Promise.all([snapshot("ctl"), snapshot("worker")]);
    expect(after).toEqual(before);
    expect(before[0]).toMatch(/blkid=2/); // /dev/vdb is still blank
    expect(r.tasks.filter((t) => t.status === "failed" || t.status === "unreachable")).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    // Every play was planned (none aborted), each host with something to do, ending with the NFS mount.
    const planned = (host: string) =>
      r.tasks.filter((t) => t.host === host && t.status === "changed").map((t) => t.task);
    expect(planned("ctl")).toEqual(
      expect.arrayContaining([
        "storage: BTRFS filesystem on /dev/vdb",
        `storage: mount ${DATA}`,
        `nfs-server: export ${DATA}`,
      ]),
    );
    expect(planned("worker")).toEqual(
      expect.arrayContaining(["nfs-client: NFS client package", `nfs-client: mount 10.88.0.10:${DATA}`]),
    );
  });

  it("first up converges both hosts", async () => {
    const r = await up();
    timings.firstUp = r.seconds;
    expect(r.tasks.filter((t) => t.status === "failed" || t.status === "unreachable")).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    for (const h of ["ctl", "worker"]) {
      expect(r.recap[h]).toMatchObject({ failed: 0, unreachable: 0 });
      expect(r.recap[h]!.changed).toBeGreaterThan(0);
    }
    const changed = (host: string) =>
      r.tasks.filter((t) => t.host === host && t.status === "changed").map((t) => t.task);
    expect(changed("ctl")).toEqual(
      expect.arrayContaining([
        "kernel: kernel.perf_event_paranoid",
        `storage: mount ${DATA}`,
        `nfs-server: export ${DATA}`,
      ]),
    );
    expect(changed("worker")).toEqual(
      expect.arrayContaining(["kernel: kernel.perf_event_paranoid", `nfs-client: mount 10.88.0.10:${DATA}`]),
    );
    // The export changed, so its handler ran (once, on ctl).
    expect(r.tasks.filter((t) => t.handler).map((t) => [t.host, t.task, t.status])).toEqual([
      ["ctl", "reload exports", "changed"],
    ]);
  });

  it("a file written on the worker's NFS mount is read on the control node", async () => {
    expect(await sh("ctl", `findmnt -n -o FSTYPE,SOURCE ${DATA}`)).toMatch(/^btrfs\s+\/dev\/vdb/);
    expect((await sh("worker", `findmnt -n -o FSTYPE,SOURCE ${DATA}`)).split(/\s+/)).toEqual([
      "nfs4",
      `10.88.0.10:${DATA}`,
    ]);
    await sh("worker", `echo '${marker}' > ${DATA}/from-worker.txt && sync`);
    expect(await sh("ctl", `cat ${DATA}/from-worker.txt`)).toBe(marker);
  });

  it("a rerun changes nothing and restarts nothing", async () => {
    const probe = `systemctl show -p ActiveEnterTimestampMonotonic --value nfs-server; stat -c %y /var/lib/nfs/etab /etc/exports /etc/fstab`;
    const before = await sh("ctl", probe);
    const r = await up();
    timings.rerun = r.seconds;
    expect(r.code, r.stderr).toBe(0);
    expect(r.tasks.filter((t) => t.status !== "ok").map((t) => `${t.host} ${t.task} ${t.status}`)).toEqual(
      [],
    );
    expect(r.tasks.filter((t) => t.handler)).toEqual([]); // exportfs -ra did not run
    for (const h of ["ctl", "worker"])
      expect(r.recap[h]).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
    expect(await sh("ctl", probe)).toBe(before);
  });

  it("after rebooting both VMs (worker first), the host layer is back without powerstack", async () => {
    timings.reboot = await vmReboot(info, ["worker", "ctl"]);
    // The NFS mount lands a few seconds after sshd is up (network-online, then remote-fs).
    const t = Date.now();
    for (;;) {
      const r = await vmSsh(info, "worker", `findmnt -n ${DATA}`, { timeoutSec: 20, allowFail: true });
      if (r.code === 0) break;
      if (Date.now() - t > 120_000) throw new Error(`worker: ${DATA} not mounted 120 s after boot`);
      await sleep(1000);
    }
    timings.nfsMountAfterBoot = (Date.now() - t) / 1000;

    // ctl: BTRFS mounted at the data path, exported to the lab network, the sysctl live.
    expect(await sh("ctl", `findmnt -n -o FSTYPE,SOURCE ${DATA}`)).toMatch(/^btrfs\s+\/dev\/vdb/);
    expect(await sh("ctl", "exportfs -v")).toMatch(
      new RegExp(`^${DATA}\\s+10\\.88\\.0\\.0/24\\(.*\\brw\\b.*no_root_squash`, "ms"),
    );
    expect(await sh("ctl", "sysctl -n kernel.perf_event_paranoid")).toBe("-1");
    expect(await sh("ctl", `cat ${DATA}/from-worker.txt`)).toBe(marker);

    // worker: mounted by systemd from fstab at boot, with _netdev; the file there; the sysctl live.
    const [src, fstype] = (await sh("worker", `findmnt -n -o SOURCE,FSTYPE ${DATA}`)).split(/\s+/);
    expect([src, fstype]).toEqual([`10.88.0.10:${DATA}`, "nfs4"]);
    expect((await sh("worker", `findmnt -s -n -o OPTIONS ${DATA}`)).split(",")).toContain("_netdev");
    expect(await sh("worker", "systemctl show -p ActiveState --value mnt-data.mount")).toBe("active");
    expect(await sh("worker", `cat ${DATA}/from-worker.txt`)).toBe(marker);
    expect(await sh("worker", "sysctl -n kernel.perf_event_paranoid")).toBe("-1");
  });

  it("up after the reboot changes nothing", async () => {
    const r = await up();
    timings.upAfterReboot = r.seconds;
    expect(r.code, r.stderr).toBe(0);
    expect(r.tasks.filter((t) => t.status !== "ok").map((t) => `${t.host} ${t.task} ${t.status}`)).toEqual(
      [],
    );
    for (const h of ["ctl", "worker"])
      expect(r.recap[h]).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
  });

  it("teardown removes the mount, the export, the data mount and the drop-in, and keeps the data", async () => {
    const r = await teardown();
    timings.teardown = r.seconds;
    expect(r.code, r.stderr).toBe(0);
    expect(r.tasks.filter((t) => t.status === "failed" || t.status === "unreachable")).toEqual([]);

    // worker: not mounted, nothing in fstab for the data path, the sysctl drop-in gone.
    expect(await sh("worker", `findmnt -n ${DATA}; echo rc=$?`)).toBe("rc=1");
    expect(await sh("worker", `grep -c ' ${DATA} ' /etc/fstab || true`)).toBe("0");
    expect(await sh("worker", "ls /etc/sysctl.d")).not.toMatch(/powerstack/);
    // ctl: no export (live or in /etc/exports), the BTRFS filesystem unmounted and out of fstab ...
    expect(await sh("ctl", "exportfs -v")).toBe("");
    expect(await sh("ctl", `grep -c '${DATA}' /etc/exports || true`)).toBe("0");
    expect(await sh("ctl", `findmnt -n ${DATA}; echo rc=$?`)).toBe("rc=1");
    expect(await sh("ctl", `grep -c ' ${DATA} ' /etc/fstab || true`)).toBe("0");
    expect(await sh("ctl", "ls /etc/sysctl.d")).not.toMatch(/powerstack/);
    // ... but still on the disk, with the worker's file in it (no --purge-data).
    expect(await sh("ctl", "blkid -p -o value -s TYPE /dev/vdb")).toBe("btrfs");
    expect(
      await sh(
        "ctl",
        `d=$(mktemp -d) && mount -o ro /dev/vdb $d && cat $d/from-worker.txt; umount $d; rmdir $d`,
      ),
    ).toBe(marker);
  });

  it("a second teardown changes nothing", async () => {
    const r = await teardown();
    timings.teardownRerun = r.seconds;
    expect(r.code, r.stderr).toBe(0);
    expect(r.tasks.filter((t) => t.status !== "ok").map((t) => `${t.host} ${t.task} ${t.status}`)).toEqual(
      [],
    );
  });

  it("up after teardown mounts the kept filesystem again (no format) and the worker sees the file", async () => {
    const r = await up();
    timings.upAfterTeardown = r.seconds;
    expect(r.code, r.stderr).toBe(0);
    const changed = r.tasks.filter((t) => t.status === "changed").map((t) => `${t.host} ${t.task}`);
    expect(changed).not.toContain("ctl storage: BTRFS filesystem on /dev/vdb");
    expect(changed).toEqual(
      expect.arrayContaining([`ctl storage: mount ${DATA}`, `worker nfs-client: mount 10.88.0.10:${DATA}`]),
    );
    expect(await sh("worker", `cat ${DATA}/from-worker.txt`)).toBe(marker);
  });
});
