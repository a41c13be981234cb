/**
 * Every module on a real node of the container lab (real systemd, apt, block device): applied twice it
 * reports changed, then ok; --check on a fresh state reports the change and changes nothing (verified by
 * probing after). Runs on w2 with paths of its own, so it does not disturb the role tests.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Runner, type Reporter } from "../../src/engine/runner.js";
import { task, type Task, type TaskResult } from "../../src/engine/types.js";
import { apt } from "../../src/modules/apt.js";
import { command } from "../../src/modules/command.js";
import { copy } from "../../src/modules/copy.js";
import { file } from "../../src/modules/file.js";
import { filesystem } from "../../src/modules/filesystem.js";
import { blockInFile, lineInFile } from "../../src/modules/line-in-file.js";
import { mount } from "../../src/modules/mount.js";
import { service } from "../../src/modules/service.js";
import { sysctl } from "../../src/modules/sysctl.js";
import type { SshHost } from "../../src/transport/ssh-host.js";
import { labHost } from "../support/lab.js";

const NODE = "w2";
let host: SshHost;
beforeAll(async () => {
  host = await labHost(NODE);
});
afterAll(async () => {
  await host?.close();
});

async function play(tasks: Task[], check = false): Promise<TaskResult[]> {
  const results: TaskResult[] = [];
  const reporter: Reporter = { playStart() {}, taskResult: (r) => results.push(r), playEnd() {} };
  const runner = new Runner({ check, forks: 1, reporter, connect: async () => host });
  await runner.runPlay({ name: "t", hosts: [NODE], tasksFor: () => ({ tasks }) });
  return results;
}

const sh = async (cmd: string) => (await host.exec(cmd)).stdout.trim();

/** check on fresh state -> changed and nothing changed; apply -> changed; again -> ok. */
async function convergesOnce(tasks: Task[], state: () => Promise<string>) {
  const before = await state();
  expect((await play(tasks, true)).map((r) => r.status)).toEqual(tasks.map(() => "changed"));
  expect(await state()).toBe(before);
  const first = await play(tasks);
  expect(first.map((r) => [r.task, r.status, r.msg])).toEqual(
    tasks.map((t) => [t.name, "changed", undefined]),
  );
  expect(await state()).not.toBe(before);
  expect((await play(tasks)).map((r) => r.status)).toEqual(tasks.map(() => "ok"));
  return first;
}

describe(`modules on a real lab node (${NODE})`, () => {
  test("package: apt installs for real through the mirror relay, then ok", async () => {
    await convergesOnce([task({ name: "bc", module: apt, params: { names: ["bc"] } })], () =>
      sh("dpkg-query -W -f '${db:Status-Abbrev}' bc 2>/dev/null; true"),
    );
    expect(await sh("echo 6*7 | bc")).toBe("42");
  });

  test("file, copy, line, block", async () => {
    const tasks: Task[] = [
      task({
        name: "dir",
        module: file,
        params: { path: "/srv/modtest", state: "directory", mode: "0750", owner: "472", group: "472" },
      }),
      task({
        name: "copy",
        module: copy,
        params: { path: "/srv/modtest/app.conf", content: "a = 1\n", mode: "0600" },
      }),
      task({
        name: "line",
        module: lineInFile,
        params: { path: "/srv/modtest/hosts", line: "10.77.0.10 ctl", match: /\sctl$/, mode: "0644" },
      }),
      task({
        name: "block",
        module: blockInFile,
        params: {
          path: "/srv/modtest/exports",
          marker: "modtest",
          block: "/srv 10.77.0.0/24(rw)",
          mode: "0644",
        },
      }),
    ];
    await convergesOnce(tasks, () =>
      sh(
        "find /srv/modtest -printf '%p %m %u:%g\\n' 2>/dev/null | sort; cat /srv/modtest/* 2>/dev/null; true",
      ),
    );
    expect(await sh("stat -c '%a %u:%g' /srv/modtest /srv/modtest/app.conf")).toBe("750 472:472\n600 0:0");
  });

  test("sysctl: drop-in and live value (a per-namespace parameter: nothing outside the node changes)", async () => {
    const hostValue = (await import("node:fs"))
      .readFileSync("/proc/sys/net/ipv4/tcp_keepalive_time", "utf8")
      .trim();
    await convergesOnce(
      [
        task({
          name: "keepalive",
          module: sysctl,
          params: {
            name: "net.ipv4.tcp_keepalive_time",
            value: "600",
            file: "/etc/sysctl.d/80-modtest.conf",
          },
        }),
      ],
      () =>
        sh("cat /proc/sys/net/ipv4/tcp_keepalive_time; cat /etc/sysctl.d/80-modtest.conf 2>/dev/null; true"),
    );
    expect(await sh("sysctl -n net.ipv4.tcp_keepalive_time")).toBe("600");
    expect(
      (await import("node:fs")).readFileSync("/proc/sys/net/ipv4/tcp_keepalive_time", "utf8").trim(),
    ).toBe(hostValue);
  });

  test("service: a new unit enabled and started once; daemon-reload only after its file changed", async () => {
    const unit = task({
      name: "unit file",
      module: copy,
      params: {
        path: "/etc/systemd/system/modtest.service",
        content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n",
      },
    });
    const svc = task({
      name: "service",
      module: service,
      params: { name: "modtest.service", enabled: true, state: "started" as const },
    });
    await convergesOnce([unit, svc], () =>
      sh("systemctl is-enabled modtest 2>/dev/null; systemctl is-active modtest 2>/dev/null; true"),
    );
    const started = await sh("systemctl show -p ActiveEnterTimestampMonotonic --value modtest");
    await play([unit, svc]);
    expect(await sh("systemctl show -p ActiveEnterTimestampMonotonic --value modtest")).toBe(started);
    await host.exec("sed -i 's/infinity/86400/' /etc/systemd/system/modtest.service");
    const r = await play([svc]);
    expect(r[0]!.changes.map((c) => c.summary)).toEqual([
      "systemctl daemon-reload (unit file of modtest.service changed)",
    ]);
    expect((await play([svc]))[0]!.status).toBe("ok");
  });

  test("command: runs once behind its guard, counted as changed only when it ran", async () => {
    await convergesOnce(
      [
        task({
          name: "init",
          module: command,
          params: { cmd: "date > /srv/initialised", creates: "/srv/initialised" },
        }),
      ],
      () => sh("cat /srv/initialised 2>/dev/null; true"),
    );
  });

  test("filesystem + mount: refuses foreign data, formats only when allowed, mounts by UUID, then ok", async () => {
    await play([task({ name: "btrfs tools", module: apt, params: { names: ["btrfs-progs"] } })]);
    await host.exec(
      "umount /mnt/modtest 2>/dev/null; wipefs -a /dev/vdb >/dev/null; mkfs.ext4 -q -F -L foreign /dev/vdb",
    );
    const fs = (allowFormat?: string): Task =>
      task({
        name: "fs",
        module: filesystem,
        params: { device: "/dev/vdb", fstype: "btrfs", label: "modtest", allowFormat },
      });
    const refused = await play([fs()]);
    expect(refused[0]).toMatchObject({
      status: "failed",
      msg: expect.stringMatching(
        /refusing to format \/dev\/vdb: it holds a ext4 filesystem labelled "foreign"[\s\S]*--allow-format \/dev\/vdb/,
      ),
    });
    expect(await sh("blkid -p -s TYPE -o value /dev/vdb")).toBe("ext4");
    // Allowed for another disk only: still refused.
    expect((await play([fs("/dev/vdc")]))[0]!.status).toBe("failed");
    const mnt: Task = task({
      name: "mount",
      module: mount,
      params: {
        path: "/mnt/modtest",
        source: { device: "/dev/vdb" },
        fstype: "btrfs",
        options: "defaults,noatime",
        state: "mounted",
      },
    });
    const first = await play([fs("/dev/vdb"), mnt]);
    expect(first.map((r) => r.status)).toEqual(["changed", "changed"]);
    const uuid = await sh("blkid -p -s UUID -o value /dev/vdb");
    expect(await sh("grep ' /mnt/modtest ' /etc/fstab")).toBe(
      `UUID=${uuid} /mnt/modtest btrfs defaults,noatime 0 2`,
    );
    expect(await sh("findmnt -n -o FSTYPE /mnt/modtest")).toBe("btrfs");
    await host.exec("echo keep > /mnt/modtest/data");
    // Our own filesystem, mounted and holding data: a rerun (even with --allow-format) touches nothing.
    expect((await play([fs("/dev/vdb"), mnt])).map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(await sh("cat /mnt/modtest/data")).toBe("keep");
    // (That fstab mounts this UUID at boot is proven on the VM tier: containers have no udev by-uuid links.)
    // Removal: unmounted and out of fstab, data left on the disk.
    const gone = await play([{ ...mnt, params: { ...mnt.params, state: "absent" } }]);
    expect(gone[0]!.changes.map((c) => c.summary)).toEqual([
      "unmount /mnt/modtest",
      "remove /mnt/modtest from /etc/fstab",
    ]);
    expect(await sh("grep -c modtest /etc/fstab; true")).toBe("0");
    await host.exec("wipefs -a /dev/vdb >/dev/null; dd if=/dev/zero of=/dev/vdb bs=1M count=4 status=none");
  });
});
