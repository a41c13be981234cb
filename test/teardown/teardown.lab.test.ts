/**
 * `powerstack teardown` on the 3-node container lab, through the real CLI, after `up --only kernel,storage`
 * (the host layer this tier can run: no kernel NFS, no K3s; the cluster steps are boundary-tested in
 * teardown.boundary.test.ts and must be skipped here, K3s not being installed):
 *   - without a terminal and without --yes it refuses (exit 2); --check changes nothing;
 *   - teardown --yes removes the data mount, its fstab entry and mount point, and the sysctl drop-in,
 *     and keeps the BTRFS filesystem with its data; a second teardown has nothing to do;
 *   - up afterwards mounts the same filesystem, the file written before intact;
 *   - --purge-data wipes the filesystem signature (only after the unmount), and up then makes a new
 *     filesystem on the disk without --allow-format; never a filesystem that is not powerstack's;
 *   - in a real terminal (tmux) it lists what it removes and asks once; "y" runs it.
 * Uses ctl's disk only (the module tests use w2's). Resets what it changes, before and after.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SshHost } from "../../src/transport/ssh-host.js";
import { cliArgv, ROOT } from "../init/helpers/cli.js";
import { TmuxSession } from "../init/helpers/tmux.js";
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

const NODES = ["ctl", "w1", "w2"];
const DROP_IN = "/etc/sysctl.d/90-powerstack.conf";
const HISTORY = "/mnt/data/prometheus/history";
// As a new disk and a fresh node are: no data mount, no fstab line, nothing on the disk's first MiBs.
const RESET_CTL =
  "umount /mnt/data 2>/dev/null; sed -i '\\# /mnt/data #d' /etc/fstab; rmdir /mnt/data 2>/dev/null; wipefs -a /dev/vdb >/dev/null 2>&1; dd if=/dev/zero of=/dev/vdb bs=1M count=4 status=none";
const RESET_KERNEL = `rm -f ${DROP_IN}; sysctl -q -w kernel.perf_event_paranoid=2`;

const outputs: CliRun[] = [];
const cli = async (...args: string[]) => {
  const r = await runCli(["--json", ...args]);
  outputs.push(r);
  return r;
};
const hosts: Record<string, SshHost> = {};
const sh = async (node: string, cmd: string) => (await hosts[node]!.exec(cmd)).stdout.trim();
const fsOf = (node = "ctl") =>
  sh(
    node,
    "blkid -p -s TYPE -o value /dev/vdb; blkid -p -s LABEL -o value /dev/vdb; blkid -p -s UUID -o value /dev/vdb",
  );
let uuid = "";

async function reset(): Promise<void> {
  await hosts.ctl!.exec(RESET_CTL);
  for (const n of NODES) await hosts[n]!.exec(RESET_KERNEL);
}

beforeAll(async () => {
  await ensureLabVault();
  for (const n of NODES) hosts[n] = await labHost(n);
  await reset();
  const up = await cli("up", "--only", "kernel,storage");
  expect(up.code, up.stderr).toBe(0);
  await hosts.ctl!.exec(`echo 'two weeks of joules' > ${HISTORY}`);
  uuid = (await fsOf()).split("\n")[2]!;
}, 300_000); // `up` installs packages through the apt relay: longer than vitest's default hook timeout

afterAll(async () => {
  if (hosts.ctl) await reset();
  for (const h of Object.values(hosts)) await h.close();
}, 60_000);

describe("teardown on the container lab (after up --only kernel,storage)", () => {
  test("without a terminal and without --yes: refused (exit 2), nothing touched", async () => {
    const r = await cli("teardown");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /teardown asks before it removes anything .* and there is no terminal to ask on\n  fix: pass --yes to confirm in advance/,
    );
    expect(r.tasks).toEqual([]);
    expect(await sh("ctl", "findmnt -n -o SOURCE /mnt/data")).toBe("/dev/vdb");
  });

  test("--check lists what it would remove and changes nothing", async () => {
    const r = await cli("teardown", "--check");
    expect(r.code, r.stderr).toBe(0);
    expect(changedTasks(r).sort()).toEqual([
      "ctl: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
      "ctl: teardown-storage: mount /mnt/data",
      "w1: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
      "w2: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
    ]);
    expect(
      r.tasks.find((t) => t.task === "teardown-storage: mount /mnt/data")!.changes.map((c) => c.summary),
    ).toEqual(["unmount /mnt/data", "remove /mnt/data from /etc/fstab"]);
    expect(await sh("ctl", "findmnt -n -o SOURCE /mnt/data; grep -c ' /mnt/data ' /etc/fstab")).toBe(
      "/dev/vdb\n1",
    );
    for (const n of NODES) expect(await sh(n, `cat ${DROP_IN}`)).toContain("kernel.perf_event_paranoid = -1");
  });

  test("teardown --yes: mount, fstab entry, mount point and drop-in gone; the filesystem and its data stay", async () => {
    const r = await cli("teardown", "--yes");
    expect(r.code, r.stderr).toBe(0);
    expect(changedTasks(r).sort()).toEqual([
      "ctl: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
      "ctl: teardown-storage: mount /mnt/data",
      "ctl: teardown-storage: mount point /mnt/data",
      "w1: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
      "w2: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
    ]);
    // K3s is not installed: the cluster steps are skipped, the uninstall scripts not run.
    const onCtl = (role: string) => r.tasks.filter((t) => t.host === "ctl" && t.task.startsWith(`${role}: `));
    expect(onCtl("teardown-helm").map((t) => `${t.status} ${t.task}`)).toEqual([
      "skipped teardown-helm: Helm release kepler (namespace kepler) (skipped: K3s is not installed)",
      "skipped teardown-helm: Helm release kube-prometheus-stack (namespace monitoring) (skipped: K3s is not installed)",
      "ok teardown-helm: /var/lib/powerstack/helm/kepler",
      "ok teardown-helm: /var/lib/powerstack/helm",
    ]);
    expect(onCtl("teardown-cluster-storage").every((t) => t.status === "skipped")).toBe(true);
    expect(onCtl("teardown-k3s-server").map((t) => t.status)).toEqual(["ok", "ok", "ok"]);

    expect(
      await sh("ctl", "findmnt /mnt/data; echo $?; grep -c ' /mnt/data ' /etc/fstab; ls -d /mnt/data 2>&1"),
    ).toMatch(/^1\n0\nls: cannot access '\/mnt\/data': No such file or directory$/);
    for (const n of NODES) {
      expect(await sh(n, `ls ${DROP_IN} 2>&1`)).toMatch(/No such file/);
      // Documented: the live value is not guessed back; the next boot applies the kernel's default.
      expect(await sh(n, "cat /proc/sys/kernel/perf_event_paranoid")).toBe("-1");
    }
    expect(await fsOf()).toBe(`btrfs\npowerstack-data\n${uuid}`);
    expect(
      await sh(
        "ctl",
        `mkdir -p /run/ps-check && mount -o ro /dev/vdb /run/ps-check && cat /run/ps-check/prometheus/history; umount /run/ps-check; rmdir /run/ps-check`,
      ),
    ).toBe("two weeks of joules");
  });

  test("a second teardown has nothing to do", async () => {
    const r = await cli("teardown", "--yes");
    expect(r.code, r.stderr).toBe(0);
    expect(changedTasks(r)).toEqual([]);
    for (const n of NODES) expect(r.recap!.hosts[n]).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
  });

  test("up after teardown mounts the same filesystem, the data intact", async () => {
    const r = await cli("up", "--only", "kernel,storage");
    expect(r.code, r.stderr).toBe(0);
    expect(changedTasks(r)).toEqual(
      expect.arrayContaining(["ctl: storage: mount /mnt/data", "w1: kernel: kernel.perf_event_paranoid"]),
    );
    expect(changedTasks(r)).not.toContain("ctl: storage: BTRFS filesystem on /dev/vdb");
    expect(await fsOf()).toBe(`btrfs\npowerstack-data\n${uuid}`);
    expect(await sh("ctl", `findmnt -n -o SOURCE /mnt/data; cat ${HISTORY}`)).toBe(
      "/dev/vdb\ntwo weeks of joules",
    );
    expect(await sh("ctl", "grep ' /mnt/data ' /etc/fstab")).toBe(
      `UUID=${uuid} /mnt/data btrfs defaults,noatime 0 2`,
    );
  });

  test("--purge-data unmounts, then wipes the signature; up then makes a new filesystem without --allow-format", async () => {
    const r = await cli("teardown", "--yes", "--purge-data");
    expect(r.code, r.stderr).toBe(0);
    expect(changedTasks(r)).toEqual(
      expect.arrayContaining([
        "ctl: teardown-storage: mount /mnt/data",
        "ctl: teardown-purge-data: data filesystem on /dev/vdb",
      ]),
    );
    expect(await sh("ctl", "blkid -p /dev/vdb; echo $?")).toBe("2");
    expect(await sh("ctl", "head -c 1048576 /dev/vdb | tr -d '\\000' | wc -c")).toBe("0");
    expect(await sh("ctl", "findmnt /mnt/data; echo $?; grep -c ' /mnt/data ' /etc/fstab")).toBe("1\n0");

    const again = await cli("teardown", "--yes", "--purge-data");
    expect(again.code, again.stderr).toBe(0);
    expect(changedTasks(again)).toEqual([]);

    const up = await cli("up", "--only", "storage");
    expect(up.code, up.stderr).toBe(0);
    const [type, label, fresh] = (await fsOf()).split("\n");
    expect([type, label]).toEqual(["btrfs", "powerstack-data"]);
    expect(fresh).not.toBe(uuid);
    expect(await sh("ctl", `ls ${HISTORY} 2>&1`)).toMatch(/No such file/);
  });

  test("in a terminal it asks once, listing the changes a check-mode run planned; yes runs the teardown", async () => {
    const { inventoryFile, runDir } = labInfo();
    const tty = TmuxSession.start(cliArgv("-i", inventoryFile, "--log-dir", `${runDir}/logs`, "teardown"), {
      cwd: ROOT,
      env: { HOME: process.env.HOME ?? "/root", POWERSTACK_VAULT_PASSWORD: LAB_VAULT_PASSWORD },
    });
    try {
      const screen = await tty.waitFor("Go ahead? (y/N)", 60_000);
      // The list is what a check-mode run planned on the nodes just now: the data mount is there again
      // (the test before re-ran `up --only storage`); the sysctl drop-in is already gone, so it is not listed.
      expect(screen).toMatch(
        /teardown-storage\n\s+ctl\s+unmount \/mnt\/data\n\s+ctl\s+remove \/mnt\/data from \/etc\/fstab/,
      );
      expect(screen).not.toMatch(/sysctl/);
      tty.type("y");
      tty.press("Enter");
      expect(await tty.exitCode(120_000)).toBe(0);
      expect(tty.screen()).toMatch(
        /changed\s+ctl\s+teardown-storage: mount \/mnt\/data: unmount \/mnt\/data/,
      );
    } finally {
      tty.kill();
    }
    expect(await sh("ctl", "findmnt /mnt/data; echo $?")).toBe("1");
  });

  test("--purge-data never wipes a disk that is not powerstack's filesystem", async () => {
    await hosts.ctl!.exec(`${RESET_CTL}; mkfs.ext4 -q -F -L someone-elses /dev/vdb`);
    const r = await cli("teardown", "--yes", "--purge-data", "--only", "storage");
    expect(r.code, r.stderr).toBe(0);
    expect(changedTasks(r)).toEqual([]);
    expect(await sh("ctl", "blkid -p -s TYPE -o value /dev/vdb; blkid -p -s LABEL -o value /dev/vdb")).toBe(
      "ext4\nsomeone-elses",
    );
  });

  test("no secret appears in any output or run log of these runs", () => {
    const logDir = join(labInfo().runDir, "logs");
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), "utf8"));
    const everything = [...outputs.flatMap((o) => [o.stdout, o.stderr]), ...logs].join("\n");
    for (const secret of [...Object.values(LAB_SECRETS), LAB_VAULT_PASSWORD])
      expect(everything).not.toContain(secret);
  });
});
