/**
 * The node checks as pure decisions over observed text: what `findmnt -P`, /etc/fstab, `exportfs -v`,
 * `systemctl show`, blkid and /proc/sys print on a healthy node and on each broken one, taken through the
 * same fact parsers the modules use (src/facts), and the verdict, detail and fix for each. A failed read
 * (a fact's parser throwing) is the check's finding.
 */
import { describe, expect, it } from "vitest";
import type { Fact, ShellFact } from "../../src/engine/fact.js";
import { file } from "../../src/facts/file.js";
import { entriesFor, FSTAB, parseFstab } from "../../src/facts/fstab.js";
import { mountAt, mountedFsUuid, nfsExports, parsePairs, sysctl, unit } from "../../src/facts/system.js";
import { parseExportfs, sameNetwork } from "../../src/verify/exportfs.js";
import {
  checkDataMount,
  checkK3sUnit,
  checkNfsClientMount,
  checkNfsExport,
  checkParanoid,
} from "../../src/verify/node-checks.js";
import { nodeReads, PARANOID, type NodeFacts, type Seen } from "../../src/verify/node-facts.js";

const UUID = "3f1c2b7e-5a4d-4c2b-9e1f-0a9b8c7d6e5f";
const DATA = "/mnt/data";

/** What a fact's parser makes of a snippet's output: its value, or the error it throws. */
function read<T, A>(fact: Fact<T, A>, arg: A, stdout: string, code = 0, stderr = ""): Seen<T> {
  try {
    return { value: (fact as ShellFact<T, A>).parse({ stdout, stderr, code }, arg) };
  } catch (error) {
    return { error };
  }
}
/** The `file` fact's output for /etc/fstab with this content: stat's line, then the content in base64. */
const fstab = (content: string) =>
  read(file, FSTAB, `regular file|644|root|root|0|0\n${Buffer.from(content).toString("base64")}`);
const mount = (findmntP: string) => read(mountAt, DATA, findmntP ? `${findmntP}\n` : "");
const exports = (out: string, code = 0, stderr = "") => read(nfsExports, undefined, out, code, stderr);
const unitState = (active: string, sub: string, load = "loaded") =>
  read(
    unit,
    "k3s",
    `LoadState=${load}\nUnitFileState=enabled\nActiveState=${active}\nSubState=${sub}\nNeedDaemonReload=no\n`,
  );

const BTRFS_MOUNT =
  'SOURCE="/dev/vdb" FSTYPE="btrfs" OPTIONS="rw,noatime,space_cache=v2,subvolid=5,subvol=/"';
const CONTROL_FSTAB = `# /etc/fstab: static file system information.
UUID=0a1b2c3d-0000-4000-8000-000000000001 / ext4 errors=remount-ro 0 1
UUID=${UUID} /mnt/data btrfs defaults,noatime 0 2
`;
const EXPORTFS =
  "/mnt/data     \t198.51.100.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,rw,secure,no_root_squash,no_all_squash)\n";
const NFS_MOUNT =
  'SOURCE="198.51.100.11:/mnt/data" FSTYPE="nfs4" OPTIONS="rw,noatime,vers=4.2,rsize=1048576,hard"';
const WORKER_FSTAB =
  "UUID=0a1b / ext4 defaults 0 1\n198.51.100.11:/mnt/data /mnt/data nfs4 _netdev,nofail,noatime,hard 0 0\n";

function control(over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    paranoid: read(sysctl, PARANOID, "-1\n"),
    mount: mount(BTRFS_MOUNT),
    uuid: read(mountedFsUuid, DATA, `DEVNAME=/dev/vdb\nUUID=${UUID}\nUUID_SUB=0f0e\nTYPE=btrfs\n`),
    fstab: fstab(CONTROL_FSTAB),
    exports: exports(EXPORTFS),
    unit: unitState("active", "running"),
    ...over,
  };
}

function worker(over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    paranoid: read(sysctl, PARANOID, "-1\n"),
    mount: mount(NFS_MOUNT),
    fstab: fstab(WORKER_FSTAB),
    unit: unitState("active", "running"),
    ...over,
  };
}

describe("what the checks read", () => {
  it("is the modules' facts: control reads the UUID and the export table too, workers do not", () => {
    const keys = (role: "control" | "worker") =>
      Object.fromEntries(Object.entries(nodeReads(role, DATA)).map(([k, r]) => [k, r.key]));
    expect(keys("control")).toEqual({
      paranoid: "sysctl:kernel.perf_event_paranoid",
      mount: "mount:/mnt/data",
      fstab: "file:/etc/fstab",
      unit: "unit:k3s",
      uuid: "mounted-fs-uuid:/mnt/data",
      exports: "nfs-exports:null",
    });
    expect(keys("worker")).toEqual({
      paranoid: "sysctl:kernel.perf_event_paranoid",
      mount: "mount:/mnt/data",
      fstab: "file:/etc/fstab",
      unit: "unit:k3s-agent",
    });
  });

  it("never touches the data path: findmnt reads mountinfo, blkid probes the device", () => {
    for (const ref of Object.values(nodeReads("control", DATA))) {
      const cmd = (ref.family as ShellFact<unknown, unknown>).command(ref.arg);
      expect(cmd).not.toMatch(/\b(stat|ls|df|test|cat)\b[^|;]*\/mnt\/data/);
      if (cmd.includes(DATA)) expect(cmd).toMatch(/findmnt [^;|]*--mountpoint '\/mnt\/data'/);
    }
  });

  it("reads findmnt -P pairs, with its \\x escapes", () => {
    expect(parsePairs('SOURCE="/dev/sdb[/@data]" FSTYPE="btrfs" OPTIONS="rw"')).toEqual({
      SOURCE: "/dev/sdb[/@data]",
      FSTYPE: "btrfs",
      OPTIONS: "rw",
    });
    expect(parsePairs('SOURCE="srv:/my\\x20data"').SOURCE).toBe("srv:/my data");
  });
  it("reads fstab entries by mount point, octal escapes and trailing slashes included", () => {
    const e = parseFstab(
      "# c\n\nUUID=a /mnt/my\\040data/ btrfs defaults 0 2\n/dev/sda1 / ext4 defaults 0 1\n",
    );
    expect(entriesFor(e, "/mnt/my data")).toEqual([
      {
        spec: "UUID=a",
        file: "/mnt/my data",
        vfstype: "btrfs",
        options: ["defaults"],
        line: "UUID=a /mnt/my\\040data/ btrfs defaults 0 2",
      },
    ]);
    expect(entriesFor(e, "/")).toHaveLength(1);
  });

  it("reads exportfs -v, long paths on their own line, <world>, and compares networks as networks", () => {
    const e = parseExportfs(
      EXPORTFS +
        "/srv/a/rather/long/export/path\n\t\t198.51.100.0/255.255.255.0(ro,sync)\n/pub          \t<world>(ro)\n",
    );
    expect(e.map((x) => [x.path, x.client, x.options[0]])).toEqual([
      ["/mnt/data", "198.51.100.0/24", "sync"],
      ["/srv/a/rather/long/export/path", "198.51.100.0/255.255.255.0", "ro"],
      ["/pub", "<world>", "ro"],
    ]);
    expect(sameNetwork("198.51.100.0/255.255.255.0", "198.51.100.0/24")).toBe(true);
    expect(sameNetwork("198.51.100.0/25", "198.51.100.0/24")).toBe(false);
    expect(sameNetwork("198.51.100.11", "198.51.100.0/24")).toBe(false);
    expect(sameNetwork("<world>", "198.51.100.0/24")).toBe(false);
  });
});

describe("kernel.perf_event_paranoid", () => {
  it("passes on the inventory's value and names the command that sets it otherwise", () => {
    expect(checkParanoid(control(), -1, "ctl")).toEqual({ status: "pass", detail: "-1 (inventory: -1)" });
    const r = checkParanoid(control({ paranoid: read(sysctl, PARANOID, "2\n") }), -1, "w1");
    expect(r.status).toBe("fail");
    expect(r.detail).toBe("live value is 2, the inventory wants -1 (cluster.perf_event_paranoid)");
    expect(r.fix).toContain("powerstack up --only kernel --limit w1");
  });

  it("fails clearly when the kernel has no such parameter, or the read was cut short", () => {
    const r = checkParanoid(control({ paranoid: read(sysctl, PARANOID, "@@absent\n") }), -1, "ctl");
    expect(r.detail).toContain("cannot read /proc/sys/kernel/perf_event_paranoid");
    expect(r.fix).toContain("no perf events");
    expect(checkParanoid({}, -1, "ctl").detail).toContain("did not report");
  });
});

describe("storage.data-mount (control)", () => {
  it("passes for BTRFS at the data path with a UUID fstab entry of that filesystem", () => {
    expect(checkDataMount(control(), "/mnt/data", "ctl")).toEqual({
      status: "pass",
      detail: `BTRFS /dev/vdb (UUID ${UUID}) at /mnt/data; fstab by UUID`,
    });
  });

  it("fails for each way it can be wrong, with a fix", () => {
    const cases: Array<[Partial<NodeFacts>, RegExp, RegExp]> = [
      [
        { mount: mount(""), fstab: fstab("") },
        /^nothing is mounted at \/mnt\/data, and \/etc\/fstab has no entry/,
        /--only storage/,
      ],
      [
        { mount: mount("") },
        /^nothing is mounted at \/mnt\/data \(fstab has: UUID=/,
        /run `mount \/mnt\/data` on ctl/,
      ],
      [
        { mount: mount('SOURCE="/dev/sda1" FSTYPE="ext4" OPTIONS="rw"') },
        /is ext4 from \/dev\/sda1, not BTRFS/,
        /storage_disk/,
      ],
      [
        { fstab: fstab("UUID=x / ext4 defaults 0 1\n") },
        /no entry for it: it will not be mounted after a reboot/,
        /--only storage/,
      ],
      [
        { fstab: fstab("/dev/vdb /mnt/data btrfs defaults 0 2\n") },
        /from \/dev\/vdb, not by UUID/,
        /--only storage/,
      ],
      [
        { fstab: fstab("UUID=11111111-2222-3333-4444-555555555555 /mnt/data btrfs defaults 0 2\n") },
        /mounts UUID=11111111-.* but the mounted filesystem \(\/dev\/vdb\) has UUID 3f1c/,
        /--only storage/,
      ],
      [
        {
          fstab: fstab(`UUID=${UUID} /mnt/data btrfs defaults 0 2\n/dev/vdb /mnt/data/ btrfs defaults 0 2\n`),
        },
        /has 2 entries/,
        /keep only/,
      ],
      // blkid -p found no signature (its exit 2, which the snippet turns into an empty answer).
      [{ uuid: read(mountedFsUuid, DATA, "") }, /its UUID cannot be read$/, /blkid -p \/dev\/vdb/],
      // blkid -p exits 2 also when it cannot open the device: then it says so, and that is an error.
      [
        { uuid: read(mountedFsUuid, DATA, "", 0, "blkid: error: /dev/vdb: Operation not permitted\n") },
        /its UUID cannot be read: blkid: error: \/dev\/vdb: Operation not permitted$/,
        /blkid -p \/dev\/vdb/,
      ],
      // A read that fails is the finding, never "no entry" or "not mounted".
      [
        {
          fstab: read(
            file,
            FSTAB,
            "regular file|600|root|root|0|0\n",
            1,
            "base64: /etc/fstab: Permission denied\n",
          ),
        },
        /^cannot read \/etc\/fstab: base64: \/etc\/fstab: Permission denied$/,
        /the read runs as root/,
      ],
      [
        { mount: read(mountAt, DATA, "", 127, "sh: 1: findmnt: not found\n") },
        /^cannot read what is mounted at \/mnt\/data: sh: 1: findmnt: not found$/,
        /install util-linux/,
      ],
    ];
    for (const [over, detail, fix] of cases) {
      const r = checkDataMount(control(over), "/mnt/data", "ctl");
      expect(r.status, JSON.stringify(over)).toBe("fail");
      expect(r.detail).toMatch(detail);
      expect(r.fix).toMatch(fix);
    }
  });
});

describe("nfs.export (control)", () => {
  it("passes for a rw export of the data path to the cluster network", () => {
    expect(checkNfsExport(control(), "/mnt/data", "198.51.100.0/24", "ctl")).toEqual({
      status: "pass",
      detail: "/mnt/data exported to 198.51.100.0/24 (rw,sync,no_root_squash)",
    });
  });

  it("fails without nfs-kernel-server, without the export, to another network, or read-only", () => {
    const r = (over: Partial<NodeFacts>, net = "198.51.100.0/24") =>
      checkNfsExport(control(over), "/mnt/data", net, "ctl");
    const missing = r({ exports: exports("", 127, "/bin/sh: 1: exportfs: not found") });
    expect(missing.detail).toBe(
      "cannot read the NFS export table (exportfs -v): /bin/sh: 1: exportfs: not found",
    );
    expect(missing.fix).toContain("powerstack up --only nfs-server");
    expect(r({ exports: exports("") }).detail).toBe(
      "/mnt/data is not exported (the export table holds nothing)",
    );
    expect(r({ exports: exports("/srv\t*(ro)\n") }).detail).toBe(
      "/mnt/data is not exported (the export table holds /srv)",
    );
    expect(r({}, "203.0.113.0/24").detail).toBe(
      "/mnt/data is exported to 198.51.100.0/24, not to the cluster network 203.0.113.0/24 (cluster.nfs_network)",
    );
    expect(r({ exports: exports("/mnt/data\t198.51.100.0/24(ro,sync)\n") }).detail).toContain("read-only");
    expect(r({ exports: exports("", 1, "exportfs: could not open /proc/fs/nfs/exports") }).fix).toContain(
      "systemctl status nfs-server",
    );
  });
});

describe("nfs.client-mount (workers)", () => {
  const check = (over: Partial<NodeFacts> = {}) =>
    checkNfsClientMount(worker(over), "/mnt/data", "198.51.100.11:/mnt/data", "w1");

  it("passes for the control node's share mounted with a _netdev fstab entry", () => {
    expect(check()).toEqual({
      status: "pass",
      detail: "nfs4 198.51.100.11:/mnt/data at /mnt/data; fstab: _netdev,nofail,noatime,hard",
    });
  });

  it("fails when not mounted, mounted from elsewhere, missing from fstab, or without _netdev", () => {
    expect(check({ mount: mount("") }).fix).toContain("run `mount /mnt/data` on w1");
    expect(check({ mount: mount(""), fstab: fstab("") }).fix).toContain("powerstack up --only nfs-client");
    expect(check({ mount: mount('SOURCE="/dev/vda1" FSTYPE="ext4" OPTIONS="rw"') }).detail).toBe(
      "/mnt/data is ext4 from /dev/vda1, not the NFS share 198.51.100.11:/mnt/data",
    );
    expect(
      check({ mount: mount('SOURCE="198.51.100.99:/mnt/data" FSTYPE="nfs4" OPTIONS="rw"') }).detail,
    ).toBe(
      "/mnt/data is mounted from 198.51.100.99:/mnt/data, not from the control node's 198.51.100.11:/mnt/data",
    );
    expect(check({ fstab: fstab("UUID=0a1b / ext4 defaults 0 1\n") }).detail).toContain("no entry for it");
    const noNetdev = check({ fstab: fstab("198.51.100.11:/mnt/data /mnt/data nfs4 defaults 0 0\n") });
    expect(noNetdev.detail).toBe(
      "the fstab entry for /mnt/data lacks _netdev (defaults): at boot it is mounted before the network is up, and fails",
    );
    expect(noNetdev.fix).toContain("powerstack up --only nfs-client");
  });
});

describe("k3s.service / k3s-agent.service", () => {
  it("passes when active, and says why not otherwise", () => {
    expect(checkK3sUnit(control(), "control", "ctl")).toEqual({
      status: "pass",
      detail: "k3s.service active (running)",
    });
    const failed = checkK3sUnit(worker({ unit: unitState("failed", "failed") }), "worker", "w1");
    expect(failed).toMatchObject({ status: "fail", detail: "k3s-agent.service is failed (failed)" });
    expect(failed.fix).toContain("journalctl -u k3s-agent.service -n 50");
    expect(
      checkK3sUnit(worker({ unit: unitState("inactive", "dead", "not-found") }), "worker", "w1"),
    ).toMatchObject({
      status: "fail",
      detail: "k3s-agent.service is not installed",
    });
    expect(
      checkK3sUnit(
        control({
          unit: read(
            unit,
            "k3s",
            "",
            1,
            "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down",
          ),
        }),
        "control",
        "ctl",
      ).detail,
    ).toContain("cannot read the state of k3s.service: System has not been booted with systemd");
  });
});
