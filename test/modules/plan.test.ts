/**
 * plan() of every module is pure: these tests feed it observations and check the decision, with no host.
 */
import { describe, expect, test } from "vitest";
import { unifiedDiff } from "../../src/engine/diff.js";
import type { Fact, ShellFact } from "../../src/engine/fact.js";
import { batchScript, splitBatch } from "../../src/engine/fact-cache.js";
import { parseFacts } from "../../src/engine/facts.js";
import { toChange } from "../../src/engine/runner.js";
import { task, type Action, type Change, type Module } from "../../src/engine/types.js";
import type { RemoteFile } from "../../src/facts/file.js";
import { debPackages, type UnitState } from "../../src/facts/system.js";
import { apt } from "../../src/modules/apt.js";
import { command, commandGuards } from "../../src/modules/command.js";
import { copy } from "../../src/modules/copy.js";
import { file } from "../../src/modules/file.js";
import { filesystem, type DiskSeen } from "../../src/modules/filesystem.js";
import { editBlock, editLines } from "../../src/modules/line-in-file.js";
import { fstabLine, mount } from "../../src/modules/mount.js";
import { service } from "../../src/modules/service.js";
import { sysctl } from "../../src/modules/sysctl.js";

/** What the runner records for a plan: each action as kind, summary (from `describe`) and diff. */
function changes<P, S, A extends Action>(m: Module<P, S, A>, seen: S, p: P): Change[] {
  return m.plan(seen, p).map((a) => toChange(task({ name: m.name, module: m, params: p }), a));
}
const summaries = <P, S, A extends Action>(m: Module<P, S, A>, seen: S, p: P): string[] =>
  changes(m, seen, p).map((c) => c.summary);

/** A fact that is read on the node, to call its command and parser directly. */
function shell<T, A>(f: Fact<T, A>): ShellFact<T, A> {
  if (!("command" in f)) throw new Error(`${f.name} is not a shell fact`);
  return f;
}

/** A regular file as the `file` fact reads it. */
const regular = (content: string): RemoteFile => ({ exists: true, kind: "regular file", content });

describe("line and block editing", () => {
  test("adds a missing line, keeps others, replaces a matching one, removes duplicates", () => {
    expect(editLines("a\nb\n", { path: "f", line: "c" })).toBe("a\nb\nc\n");
    expect(editLines("a\nc\n", { path: "f", line: "c" })).toBe("a\nc\n");
    expect(editLines("/x old1\nkeep\n/x old2\n", { path: "f", line: "/x new", match: /^\/x\s/ })).toBe(
      "keep\n/x new\n",
    );
    expect(editLines("a\nb\na\n", { path: "f", line: "a", state: "absent" })).toBe("b\n");
    expect(editLines("", { path: "f", line: "only" })).toBe("only\n");
    expect(editLines("no-newline", { path: "f", line: "x" })).toBe("no-newline\nx\n");
  });

  test("a marked block is inserted, replaced in place, and removed", () => {
    const one = editBlock("top\n", { path: "f", marker: "powerstack", block: "x=1\n" });
    expect(one).toBe("top\n# BEGIN powerstack\nx=1\n# END powerstack\n");
    expect(editBlock(one + "tail\n", { path: "f", marker: "powerstack", block: "x=2\ny=3" })).toBe(
      "top\n# BEGIN powerstack\nx=2\ny=3\n# END powerstack\ntail\n",
    );
    expect(editBlock(one, { path: "f", marker: "powerstack", block: "" })).toBe("top\n");
  });
});

describe("module plans", () => {
  test("copy: same content is ok; different content, mode or owner is a change with a diff", () => {
    const path: RemoteFile = {
      exists: true,
      kind: "regular file",
      mode: "0644",
      owner: "root",
      group: "root",
      uid: "0",
      gid: "0",
      content: "a\n",
    };
    const seen = { path };
    expect(copy.plan(seen, { path: "/f", content: "a\n", mode: "0644" })).toEqual([]);
    expect(changes(copy, seen, { path: "/f", content: "b\n" })[0]).toMatchObject({
      summary: "update /f",
      diff: { before: "a\n", after: "b\n" },
    });
    expect(summaries(copy, seen, { path: "/f", content: "a\n", mode: "600" })[0]).toBe(
      "mode of /f: 0644 -> 600",
    );
    expect(copy.plan(seen, { path: "/f", content: "a\n", owner: "0", group: "0" })).toEqual([]);
    expect(
      changes(copy, { path: { exists: false } }, { path: "/f", content: "s3cret", sensitive: true })[0],
    ).toEqual({
      kind: "create",
      summary: "create /f",
      diff: { path: "/f", before: "", after: "s3cret" },
      sensitive: true,
    });
    expect(() =>
      copy.plan({ path: { exists: true, kind: "directory" } }, { path: "/f", content: "" }),
    ).toThrow(/is a directory, not a file/);
  });

  test("file: numeric owners compare with ids", () => {
    const seen = {
      path: {
        exists: true,
        kind: "directory",
        mode: "0775",
        owner: "UNKNOWN",
        group: "UNKNOWN",
        uid: "472",
        gid: "472",
      },
    };
    expect(
      file.plan(seen, { path: "/d", state: "directory", mode: "0775", owner: "472", group: "472" }),
    ).toEqual([]);
    expect(summaries(file, seen, { path: "/d", state: "directory", owner: "1000" })[0]).toMatch(
      /owner of \/d/,
    );
    expect(file.plan({ path: { exists: false } }, { path: "/d", state: "absent" })).toEqual([]);
  });

  test("apt: only missing packages are installed", () => {
    expect(apt.plan({ installed: new Set(["nfs-common"]) }, { names: ["nfs-common"] })).toEqual([]);
    expect(changes(apt, { installed: new Set(["a"]) }, { names: ["a", "b", "c"] })).toEqual([
      { kind: "install", summary: "install b c" },
    ]);
    expect(shell(debPackages).parse({ stdout: "x ii \ny un \n", stderr: "", code: 0 }, ["x"])).toEqual(
      new Set(["x"]),
    );
  });

  test("sysctl: drop-in and live value are checked separately", () => {
    const p = { name: "kernel.perf_event_paranoid", value: "-1", file: "/etc/sysctl.d/90-powerstack.conf" };
    const dropIn = regular("# Managed by powerstack\nkernel.perf_event_paranoid = -1\n");
    expect(sysctl.plan({ live: "-1", dropIn }, p)).toEqual([]);
    expect(summaries(sysctl, { live: "2", dropIn }, p)).toEqual([
      "set kernel.perf_event_paranoid = -1 live (was 2)",
    ]);
    expect(summaries(sysctl, { live: "-1", dropIn: { exists: false } }, p)).toEqual([
      "persist kernel.perf_event_paranoid = -1 in /etc/sysctl.d/90-powerstack.conf",
    ]);
    expect(() => sysctl.plan({ live: undefined, dropIn }, p)).toThrow(/does not exist on this host/);
  });

  test("service: daemon-reload only when systemd asks, no restart unless requested", () => {
    const running: UnitState = {
      exists: true,
      loadState: "loaded",
      enabled: "enabled",
      active: "active",
      sub: "running",
      needReload: false,
    };
    const on = (unit: UnitState) => ({ unit });
    expect(service.plan(on(running), { name: "nfs-server", enabled: true, state: "started" })).toEqual([]);
    expect(summaries(service, on({ ...running, needReload: true }), { name: "x", state: "started" })).toEqual(
      ["systemctl daemon-reload (unit file of x changed)"],
    );
    expect(
      summaries(service, on({ ...running, enabled: "disabled", active: "inactive" }), {
        name: "x",
        enabled: true,
        state: "started",
      }),
    ).toEqual(["enable x", "start x"]);
    expect(summaries(service, on(running), { name: "x", state: "restarted" })).toEqual(["restart x"]);
    expect(
      summaries(service, on({ ...running, exists: false }), { name: "x", enabled: true, state: "started" }),
    ).toEqual(["enable and start x (unit not installed yet)"]);
  });

  test("command: runs only when its guard says so", () => {
    expect(command.plan({ mustRun: false }, { cmd: "x" })).toEqual([]);
    expect(changes(command, { mustRun: true }, { cmd: "x", summary: "do x" })).toEqual([
      { kind: "run", summary: "do x" },
    ]);
    expect(shell(commandGuards).command({ creates: "/a b" })).toBe(
      "if [ ! -e '/a b' ]; then echo run; else echo skip; fi",
    );
  });

  test("mount: fstab by UUID, mounted state, removal", () => {
    const p = {
      path: "/mnt/data",
      source: { device: "/dev/vdb" },
      fstype: "btrfs",
      options: "defaults,noatime",
      state: "mounted" as const,
    };
    const line = fstabLine(p, "u-1");
    expect(line).toBe("UUID=u-1 /mnt/data btrfs defaults,noatime 0 2");
    const mounted = { source: "/dev/vdb", fstype: "btrfs", options: "rw,noatime" };
    expect(mount.plan({ uuid: "u-1", mounted, fstab: regular(`# static\n${line}\n`) }, p)).toEqual([]);
    expect(
      summaries(
        mount,
        { uuid: "u-1", mounted: undefined, fstab: regular("/dev/vdb /mnt/data btrfs defaults 0 0\n") },
        p,
      ),
    ).toEqual([`/etc/fstab: ${line}`, "mount /mnt/data"]);
    expect(summaries(mount, { uuid: undefined, mounted: undefined, fstab: regular("") }, p)).toEqual([
      "/etc/fstab: /mnt/data by UUID of /dev/vdb, and mount it (no filesystem there yet)",
    ]);
    const nfs = {
      path: "/mnt/data",
      source: { spec: "198.51.100.10:/mnt/data" },
      fstype: "nfs4",
      options: "_netdev",
      state: "absent" as const,
    };
    expect(
      summaries(
        mount,
        {
          uuid: undefined,
          mounted: { source: "198.51.100.10:/mnt/data", fstype: "nfs4", options: "rw" },
          fstab: regular("198.51.100.10:/mnt/data /mnt/data nfs4 _netdev 0 0\n"),
        },
        nfs,
      ),
    ).toEqual(["unmount /mnt/data", "remove /mnt/data from /etc/fstab"]);
  });

  test("filesystem: formats only an empty, unused disk unless allowed", () => {
    const empty: DiskSeen = {
      resolved: "/dev/vdb",
      isBlock: true,
      signature: {},
      children: [],
      inUse: [],
      nonZeroBytes: 0,
    };
    const on = (disk: DiskSeen) => ({ disk });
    const p = { device: "/dev/vdb", fstype: "btrfs" as const, label: "powerstack-data" };
    expect(summaries(filesystem, on(empty), p)[0]).toBe(
      'create btrfs filesystem "powerstack-data" on /dev/vdb',
    );
    expect(
      filesystem.plan(
        on({ ...empty, signature: { TYPE: "btrfs", LABEL: "powerstack-data" }, inUse: ["/mnt/data"] }),
        p,
      ),
    ).toEqual([]);
    expect(() => filesystem.plan(on({ ...empty, signature: { TYPE: "ext4", LABEL: "old" } }), p)).toThrow(
      /refusing to format \/dev\/vdb: it holds a ext4 filesystem labelled "old"/,
    );
    expect(() =>
      filesystem.plan(on({ ...empty, signature: { PTTYPE: "gpt" }, children: ["/dev/vdb1"] }), p),
    ).toThrow(/partition table/);
    expect(() => filesystem.plan(on({ ...empty, nonZeroBytes: 10 }), p)).toThrow(/non-zero bytes/);
    expect(() =>
      filesystem.plan(on({ ...empty, signature: { TYPE: "ext4" }, inUse: ["/"] }), {
        ...p,
        allowFormat: "/dev/vdb",
      }),
    ).toThrow(/in use \(\/\)/);
    expect(() => filesystem.plan(on({ ...empty, isBlock: false }), p)).toThrow(/not a block device/);
    expect(
      summaries(filesystem, on({ ...empty, signature: { TYPE: "ext4" } }), {
        ...p,
        allowFormat: "/dev/vdb",
      })[0],
    ).toMatch(/^WIPE and create/);
    // --allow-format names a disk: another disk is still protected.
    expect(() =>
      filesystem.plan(on({ ...empty, signature: { TYPE: "xfs" } }), { ...p, allowFormat: "/dev/vdc" }),
    ).toThrow(
      expect.objectContaining({ fix: "if its data may be destroyed, rerun with --allow-format /dev/vdb" }),
    );
    const byId = { ...p, device: "/dev/disk/by-id/virtio-data" };
    expect(summaries(filesystem, on(empty), byId)[0]).toContain("/dev/disk/by-id/virtio-data (/dev/vdb)");
  });
});

describe("engine pieces", () => {
  test("fact batches split back exactly, even when output mimics markers; stderr comes back decoded", () => {
    const nonce = "abc123";
    const script = batchScript(["echo one", "printf '@@abc12:0:end:0'"], nonce);
    expect(script).toContain("@@abc123:1:begin");
    expect(script).toContain('2>"$E"');
    const err = Buffer.from("denied\n").toString("base64");
    const out =
      `\n@@${nonce}:0:begin\none\n\n@@${nonce}:0:end:0\n` +
      `\n@@${nonce}:1:begin\n@@abc12:0:end:0\n@@${nonce}:1:end:3\n@@${nonce}:1:stderr:${err}\n`;
    expect(splitBatch(out, 2, nonce)).toEqual([
      { stdout: "one\n", stderr: "", code: 0 },
      { stdout: "@@abc12:0:end:0", stderr: "denied\n", code: 3 },
    ]);
    expect(() => splitBatch(out, 3, nonce)).toThrow(/fact 2 produced no result/);
  });

  test("facts parse os-release, lsblk and ip output", () => {
    const f = parseFacts(
      '@@os\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n@@arch\nx86_64\n@@kernel\n6.8.0\n@@init\nsystemd\n@@mem\n16000000\n@@lsblk\n{"blockdevices":[{"path":"/dev/vdb","type":"disk","size":2147483648,"fstype":null,"mountpoint":null}]}\n@@ip\n[{"ifname":"eth0","addr_info":[{"local":"198.51.100.10"}]}]\n@@hostname\nctl\n',
    );
    expect(f).toMatchObject({
      hostname: "ctl",
      arch: "x86_64",
      init: "systemd",
      memTotalKb: 16000000,
      os: { id: "ubuntu", versionId: "24.04", family: "debian" },
    });
    expect(f.blockDevices).toEqual([
      { path: "/dev/vdb", type: "disk", size: 2147483648, fstype: undefined, mountpoint: undefined },
    ]);
    expect(f.interfaces).toEqual([{ name: "eth0", addresses: ["198.51.100.10"] }]);
  });

  test("unified diff shows only the changed hunk with context", () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n") + "\n";
    const after = before.replace("l10\n", "L10\n");
    expect(unifiedDiff("/f", before, after)).toBe(
      [
        "--- /f (before)",
        "+++ /f (after)",
        "@@ -8,7 +8,7 @@",
        "l7",
        "l8",
        "l9",
        "-l10",
        "+L10",
        "l11",
        "l12",
        "l13",
      ]
        .map((l, i) => (i > 2 && !/^[-+]/.test(l) ? " " + l : l))
        .join("\n"),
    );
    expect(unifiedDiff("/f", "", "new\n")).toBe("--- /f (before)\n+++ /f (after)\n@@ -0,0 +1,1 @@\n+new");
  });
});
