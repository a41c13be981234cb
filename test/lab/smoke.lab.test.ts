/**
 * The lab itself works: real OpenSSH with strict host keys, booted systemd, a fresh block device at
 * /dev/vdb, apt through the relay, the per-node perf_event_paranoid stand-in (never the host's), and a
 * node reboot that keeps its files.
 */
import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseInventory } from "../../src/inventory/load.js";
import { run } from "./exec.js";
import { restartNode, waitNodeExit } from "./lab.js";
import { labInfo } from "./lab-info.js";
import { labSsh, sshOptions } from "./ssh.js";

const PERF = "/proc/sys/kernel/perf_event_paranoid";
/** Last 512-byte sector of the 2 GiB disk: the smoke test writes only there, and restores it. */
const LAST_SECTOR = (2 * 1024 ** 3) / 512 - 1;
const hostPerf = () => readFileSync(PERF, "utf8").trim();

describe("tier-1 lab", () => {
  const info = labInfo();
  const names = info.nodes.map((n) => n.name);
  const [ctl, w1, w2] = names as [string, string, string];
  const hostPerfAtStart = hostPerf();

  it("writes an inventory powerstack accepts", () => {
    const inv = parseInventory(readFileSync(info.inventoryFile, "utf8"), info.inventoryFile);
    expect(inv.cluster.nfsNetwork).toBe("10.77.0.0/24");
    expect(inv.ssh).toMatchObject({
      user: "root",
      keyFile: info.keyFile,
      knownHosts: "strict",
      knownHostsFile: info.knownHostsFile,
      proxyCommand: info.proxyCommand,
    });
    expect(inv.vaultFile).toBe(info.vaultFile);
    expect(inv.nodes.map((n) => [n.name, n.role, n.internalIp, n.sshAddress, n.storageDisk])).toEqual(
      info.nodes.map((n, i) => [
        n.name,
        i === 0 ? "control" : "worker",
        n.ip,
        n.ip,
        i === 0 ? "/dev/vdb" : undefined,
      ]),
    );
  });

  it.each(names)(
    "%s: booted systemd and sshd, reached with OpenSSH and strict host key checking",
    async (name) => {
      const node = info.nodes.find((n) => n.name === name)!;
      // Only the LabInfo fields, no config file: what any client (powerstack included) has.
      const r = await run(
        "ssh",
        [
          ...sshOptions(info),
          `root@${node.ip}`,
          "systemctl is-system-running --wait; systemctl is-active ssh; hostname",
        ],
        {
          allowFail: true,
        },
      );
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\n")).toEqual(["running", "active", name, ""]);
    },
  );

  it("refuses a host key that is not in known_hosts (strict checking is real)", async () => {
    const node = info.nodes[0]!;
    // ssh takes the first value of an option: this one wins over the lab's known_hosts.
    const r = await run(
      "ssh",
      ["-o", "UserKnownHostsFile=/dev/null", ...sshOptions(info), `root@${node.ip}`, "true"],
      { allowFail: true },
    );
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Host key verification failed/);
  });

  it("nodes have distinct host keys and machine ids", async () => {
    const ids = await Promise.all(
      names.map(
        async (n) => (await labSsh(n, "cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub")).stdout,
      ),
    );
    expect(new Set(ids).size).toBe(names.length);
  });

  it("every labUp gives each node a new 2 GiB disk behind /dev/vdb", () => {
    // Other lab test files share these disks and may run first: check freshness on the host side.
    for (const n of info.nodes) {
      const file = `${info.runDir}/nodes/${n.name}/disk.img`;
      expect(
        readFileSync(`/sys/block/${n.loopDevice.replace("/dev/", "")}/loop/backing_file`, "utf8").trim(),
      ).toBe(file);
      expect(statSync(file).size).toBe(2 * 1024 ** 3);
      expect(statSync(file).birthtimeMs).toBeGreaterThanOrEqual(Date.parse(info.createdAt) - 1000);
    }
  });

  it("/dev/vdb is a block device that takes writes (the last sector, restored afterwards)", async () => {
    for (const n of names) {
      const r = await labSsh(
        n,
        [
          "test -b /dev/vdb",
          "blockdev --getsize64 /dev/vdb",
          `dd if=/dev/vdb of=/tmp/vdb-last bs=512 skip=${LAST_SECTOR} count=1 status=none`,
          `printf 'lab-%s' $(hostname) | dd of=/dev/vdb bs=512 seek=${LAST_SECTOR} conv=fsync status=none`,
          `dd if=/dev/vdb bs=512 skip=${LAST_SECTOR} count=1 status=none | tr -d '\\0'; echo`,
          `dd if=/tmp/vdb-last of=/dev/vdb bs=512 seek=${LAST_SECTOR} conv=fsync status=none`,
          `dd if=/dev/vdb bs=512 skip=${LAST_SECTOR} count=1 status=none | cmp - /tmp/vdb-last && echo restored`,
          "test -c /dev/btrfs-control && echo btrfs-control",
        ].join(" && "),
      );
      expect(r.stdout.split("\n")).toEqual(["2147483648", `lab-${n}`, "restored", "btrfs-control", ""]);
    }
  });

  it("nodes reach each other on 10.77.0.0/24 and nothing else", async () => {
    const r = await labSsh(
      w1,
      `nc -z -w 3 ${ctl} 22 && echo ok; nc -z -w 3 192.0.2.1 80 2>&1 || echo unreachable`,
    );
    expect(r.stdout).toMatch(/^ok\n/);
    expect(r.stdout).toMatch(/unreachable/);
  });

  it("apt works through the relay to the host's mirror", async () => {
    const r = await labSsh(ctl, "apt-get update -q 2>&1 && apt-cache policy btrfs-progs | sed -n 3p", {
      timeoutMs: 180_000,
    });
    expect(r.stdout).not.toMatch(/^(W|E): /m);
    expect(r.stdout).toMatch(/Candidate: \d/);
  });

  it("kernel.perf_event_paranoid: a per-node stand-in that sysctl writes, never the host's value", async () => {
    // Other test files may have set w2 (the lab is shared): give it a known value of its own first.
    await labSsh(w2, "sysctl -qw kernel.perf_event_paranoid=1");
    const set = await labSsh(
      w1,
      [
        "sysctl -w kernel.perf_event_paranoid=-1",
        "cat /proc/sys/kernel/perf_event_paranoid",
        "echo 'kernel.perf_event_paranoid = 0' > /etc/sysctl.d/90-smoke.conf",
        "sysctl --system >/dev/null",
        "sysctl -n kernel.perf_event_paranoid",
        "rm /etc/sysctl.d/90-smoke.conf",
        `sysctl -qw kernel.perf_event_paranoid=${hostPerfAtStart}`,
      ].join(" && "),
    );
    expect(set.stdout.split("\n")).toEqual(["kernel.perf_event_paranoid = -1", "-1", "0", ""]);
    expect(hostPerf()).toBe(hostPerfAtStart);
    // Another node has its own file, untouched by w1's writes.
    expect((await labSsh(w2, `cat ${PERF}`)).stdout.trim()).toBe("1");
    // Other kernel sysctls stay read-only in a container: nothing reaches the host.
    const other = await labSsh(w1, "sysctl -w kernel.sysrq=0", { allowFail: true });
    expect(other.code).not.toBe(0);
  });

  it("a node rebooted from inside comes back with its files, its disk and its sysctl drop-ins", async () => {
    const marker = `persist-${Date.now()}`;
    await labSsh(
      w2,
      [
        `echo ${marker} > /root/marker`,
        `dd if=/dev/vdb of=/root/vdb-last bs=512 skip=${LAST_SECTOR} count=1 status=none`,
        `printf ${marker} | dd of=/dev/vdb bs=512 seek=${LAST_SECTOR} conv=fsync status=none`,
        "echo 'kernel.perf_event_paranoid = -1' > /etc/sysctl.d/99-smoke.conf",
        "sysctl -w kernel.perf_event_paranoid=1 >/dev/null",
      ].join(" && "),
    );
    const before = labInfo().nodes.find((n) => n.name === w2)!;
    await labSsh(w2, "systemctl reboot", { allowFail: true }); // the connection may drop mid-command
    await waitNodeExit(w2, 60_000);
    const after = await restartNode(w2);
    expect(after.nspawnPid).not.toBe(before.nspawnPid);
    expect(labInfo().nodes.find((n) => n.name === w2)!.nspawnPid).toBe(after.nspawnPid);
    const r = await labSsh(
      w2,
      [
        "cat /root/marker",
        `dd if=/dev/vdb bs=512 skip=${LAST_SECTOR} count=1 status=none | tr -d '\\0'; echo`,
        "sysctl -n kernel.perf_event_paranoid",
        "systemctl is-system-running --wait",
      ].join("; "),
    );
    // The boot applied the drop-in (-1), not the value set live before the reboot (1).
    expect(r.stdout.split("\n")).toEqual([marker, marker, "-1", "running", ""]);
    expect(hostPerf()).toBe(hostPerfAtStart);
    await labSsh(
      w2,
      `dd if=/root/vdb-last of=/dev/vdb bs=512 seek=${LAST_SECTOR} conv=fsync status=none && rm /etc/sysctl.d/99-smoke.conf /root/marker /root/vdb-last && sysctl -qw kernel.perf_event_paranoid=${hostPerfAtStart}`,
    );
  });
});
