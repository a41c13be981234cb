/**
 * The host layer on the 3-node container lab, through the real CLI: `up --check` on fresh nodes changes
 * nothing; `up` converges; a second `up` changes nothing on any host; a data disk holding a foreign
 * filesystem is refused (and kept) until --allow-format names it. No secret appears in any output or log.
 *
 * Roles here: kernel and storage. NFS needs a kernel nfsd the container tier does not have (it is tested
 * on the VM tier, test/lab/vm); K3s and Helm cannot run here at all (boundary tests in test/roles).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SshHost } from "../../src/transport/ssh-host.js";
import { labInfo } from "../lab/lab-info.js";
import {
  changedTasks,
  ensureLabVault,
  LAB_SECRETS,
  LAB_VAULT_PASSWORD,
  labHost,
  runCli,
  type CliRun,
} from "../support/lab.js";

const ROLES = "kernel,storage";
const BLANK_DISK =
  "umount /mnt/data 2>/dev/null; sed -i '\\# /mnt/data #d' /etc/fstab; wipefs -a /dev/vdb >/dev/null 2>&1; dd if=/dev/zero of=/dev/vdb bs=1M count=4 status=none";
const outputs: CliRun[] = [];
const cli = async (...args: string[]) => {
  const r = await runCli(["--json", ...args]);
  outputs.push(r);
  return r;
};
let ctl: SshHost;
const sh = async (cmd: string) => (await ctl.exec(cmd)).stdout.trim();

beforeAll(async () => {
  await ensureLabVault();
  ctl = await labHost("ctl");
  // A blank data disk, as a new one is: wipefs only erases signatures, and powerstack refuses a disk with
  // any non-zero byte in its first MiB, so zero the start too. (The module tests use w2's disk, not ctl's.)
  await ctl.exec(BLANK_DISK);
  // Kernel state as on a fresh Debian node (the lab's stand-in file holds the value, never the host's).
  for (const name of ["ctl", "w1", "w2"]) {
    const h = name === "ctl" ? ctl : await labHost(name);
    await h.exec("rm -f /etc/sysctl.d/90-powerstack.conf; sysctl -q -w kernel.perf_event_paranoid=2");
    if (h !== ctl) await h.close();
  }
});
afterAll(async () => {
  await ctl?.close();
});

describe("host layer on the container lab (kernel, storage)", () => {
  test("--check lists what it would do and changes nothing", async () => {
    const r = await cli("up", "--check", "--only", ROLES);
    expect(r.code).toBe(0);
    expect(changedTasks(r)).toEqual(
      expect.arrayContaining([
        "ctl: kernel: kernel.perf_event_paranoid",
        "ctl: storage: BTRFS filesystem on /dev/vdb",
        "ctl: storage: mount /mnt/data",
      ]),
    );
    expect(r.tasks.find((t) => t.task === "storage: BTRFS filesystem on /dev/vdb")!.changes[0]!.summary).toBe(
      'create btrfs filesystem "powerstack-data" on /dev/vdb',
    );
    expect(await sh("blkid -p /dev/vdb; echo $?")).toBe("2");
    expect(await sh("ls /etc/sysctl.d/90-powerstack.conf 2>&1; grep -c /mnt/data /etc/fstab")).toMatch(
      /No such file[\s\S]*0$/,
    );
  });

  test("up converges; a second up changes nothing anywhere", async () => {
    const first = await cli("up", "--only", ROLES);
    expect(first.code).toBe(0);
    expect(first.tasks.filter((t) => t.status === "failed")).toEqual([]);
    expect(changedTasks(first)).toEqual(
      expect.arrayContaining([
        "ctl: storage: BTRFS filesystem on /dev/vdb",
        "w1: kernel: kernel.perf_event_paranoid",
      ]),
    );
    expect(await sh("cat /proc/sys/kernel/perf_event_paranoid; cat /etc/sysctl.d/90-powerstack.conf")).toBe(
      "-1\n# Managed by powerstack\nkernel.perf_event_paranoid = -1",
    );
    expect(await sh("findmnt -n -o FSTYPE,SOURCE /mnt/data")).toMatch(/^btrfs\s+\/dev\/vdb/);
    const uuid = await sh("blkid -p -s UUID -o value /dev/vdb");
    expect(await sh("grep ' /mnt/data ' /etc/fstab")).toBe(
      `UUID=${uuid} /mnt/data btrfs defaults,noatime 0 2`,
    );
    expect(
      await sh("stat -c '%n %a %u:%g' /mnt/data/prometheus /mnt/data/grafana /mnt/data/alertmanager"),
    ).toBe(
      "/mnt/data/prometheus 775 1000:2000\n/mnt/data/grafana 775 472:472\n/mnt/data/alertmanager 775 1000:2000",
    );
    await ctl.exec("echo history > /mnt/data/prometheus/keep");

    const second = await cli("up", "--only", ROLES);
    expect(second.code).toBe(0);
    expect(changedTasks(second)).toEqual([]);
    for (const host of ["ctl", "w1", "w2"])
      expect(second.recap!.hosts[host]).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
    expect(await sh("cat /mnt/data/prometheus/keep")).toBe("history");
  });

  test("a disk holding a foreign filesystem is refused and kept, until --allow-format names it", async () => {
    await ctl.exec(`${BLANK_DISK}; mkfs.ext4 -q -F -L someone-elses /dev/vdb`);
    const refused = await cli("up", "--only", "storage");
    expect(refused.code).toBe(1);
    const failed = refused.tasks.find((t) => t.status === "failed")!;
    expect(failed.host).toBe("ctl");
    expect(failed.msg).toMatch(
      /refusing to format \/dev\/vdb: it holds a ext4 filesystem labelled "someone-elses"[\s\S]*fix: if its data may be destroyed, rerun with --allow-format \/dev\/vdb/,
    );
    expect(await sh("blkid -p -s TYPE -o value /dev/vdb; blkid -p -s LABEL -o value /dev/vdb")).toBe(
      "ext4\nsomeone-elses",
    );

    const allowed = await cli("up", "--only", "storage", "--allow-format", "/dev/vdb");
    expect(allowed.code).toBe(0);
    expect(await sh("blkid -p -s TYPE -o value /dev/vdb; blkid -p -s LABEL -o value /dev/vdb")).toBe(
      "btrfs\npowerstack-data",
    );
    const uuid = await sh("blkid -p -s UUID -o value /dev/vdb");
    // The stale fstab line of the old filesystem was replaced, not duplicated.
    expect(await sh("grep ' /mnt/data ' /etc/fstab")).toBe(
      `UUID=${uuid} /mnt/data btrfs defaults,noatime 0 2`,
    );
    const again = await cli("up", "--only", "storage", "--allow-format", "/dev/vdb");
    expect(changedTasks(again)).toEqual([]);
  });

  test("an unknown role or host is a usage error (exit 2) naming it", async () => {
    const r = await cli("up", "--only", "kernal");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown role `kernal`[\s\S]*did you mean `kernel`/);
    const l = await cli("--limit", "w9", "up", "--only", "kernel");
    expect(l.code).toBe(2);
    expect(l.stderr).toMatch(/no node or group named `w9`/);
  });

  test("an unreachable node: the others finish, exit 3, one clear line naming it", async () => {
    const { inventoryFile, runDir } = labInfo();
    const withGhost = join(runDir, "inventory-ghost.yaml");
    writeFileSync(
      withGhost,
      readFileSync(inventoryFile, "utf8").replace(
        "  proxy_command:",
        "  connect_timeout: 3\n  connect_retries: 1\n  proxy_command:",
      ) + "  - { name: w9, role: worker, internal_ip: 10.77.0.99, ssh_address: 10.77.0.99 }\n",
    );
    const r = await runCli(["--json", "-i", withGhost, "up", "--only", "kernel"]);
    outputs.push(r);
    expect(r.code).toBe(3);
    expect(r.recap!.hosts.w9).toMatchObject({ unreachable: 1 });
    for (const h of ["ctl", "w1", "w2"])
      expect(r.recap!.hosts[h]).toMatchObject({ failed: 0, unreachable: 0 });
    expect(r.tasks.find((t) => t.host === "w9")!.msg).toMatch(/^w9: .*10\.77\.0\.99:22/);
  });

  test("no secret appears in any output or run log of these runs", () => {
    const logDir = join(labInfo().runDir, "logs");
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), "utf8"));
    expect(logs.length).toBeGreaterThan(0);
    const everything = [...outputs.flatMap((o) => [o.stdout, o.stderr]), ...logs].join("\n");
    for (const secret of [...Object.values(LAB_SECRETS), LAB_VAULT_PASSWORD])
      expect(everything).not.toContain(secret);
  });
});
