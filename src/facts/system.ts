/**
 * Facts about the node's system state that modules act on and `verify` checks: kernel parameters, systemd
 * units, mounts, filesystem UUIDs, installed packages, the NFS export table.
 */
import { defineFact, FactReadError, requireSuccess } from "../engine/fact.js";
import { shq } from "../transport/host.js";

const procPath = (name: string) => `/proc/sys/${name.replace(/\./g, "/")}`;

/** A kernel parameter's live value; undefined when the kernel has no such parameter. */
export const sysctl = defineFact<string | undefined, string>({
  name: "sysctl",
  key: (name) => name,
  command: (name) => `p=${shq(procPath(name))}; if [ -e "$p" ]; then cat "$p"; else echo '@@absent'; fi`,
  parse(out, name) {
    requireSuccess("sysctl", `kernel parameter ${name}`, out);
    const v = out.stdout.trim();
    return v === "@@absent" ? undefined : v.replace(/\s+/g, " ");
  },
});

export interface UnitState {
  /** LoadState is `loaded`: the unit file exists. */
  exists: boolean;
  loadState: string;
  /** UnitFileState: enabled, disabled, static... */
  enabled: string;
  active: string;
  sub: string;
  needReload: boolean;
}

/** A systemd unit's state (`systemctl show`). */
export const unit = defineFact<UnitState, string>({
  name: "unit",
  key: (name) => name,
  command: (name) =>
    `systemctl show -p LoadState -p UnitFileState -p ActiveState -p SubState -p NeedDaemonReload ${shq(name)}`,
  parse(out, name) {
    requireSuccess("unit", `systemd unit ${name}`, out);
    const v = Object.fromEntries(
      out.stdout.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
    );
    return {
      exists: v.LoadState === "loaded",
      loadState: v.LoadState ?? "",
      enabled: v.UnitFileState ?? "",
      active: v.ActiveState ?? "",
      sub: v.SubState ?? "",
      needReload: v.NeedDaemonReload === "yes",
    };
  },
});

export interface MountState {
  source: string;
  fstype: string;
  options: string;
}

/**
 * What is mounted at a path (the topmost mount), from /proc/self/mountinfo via findmnt: never touches the
 * path itself, so a hung NFS mount cannot block the read. undefined when nothing is mounted there.
 */
export const mountAt = defineFact<MountState | undefined, string>({
  name: "mount",
  key: (path) => path,
  // findmnt exits 1 when nothing is mounted there: an answer, not a failure.
  command: (path) =>
    `out=$(findmnt -P -n -o SOURCE,FSTYPE,OPTIONS --mountpoint ${shq(path)}); rc=$?; if [ $rc -eq 1 ] && [ -z "$out" ]; then exit 0; fi; printf '%s\\n' "$out" | tail -n 1; exit $rc`,
  parse(out, path) {
    requireSuccess("mount", `the mount at ${path}`, out);
    const line = out.stdout.trim();
    if (!line) return undefined;
    const f = parsePairs(line);
    return { source: f.SOURCE ?? "", fstype: f.FSTYPE ?? "", options: f.OPTIONS ?? "" };
  },
});

/** `KEY="value" KEY="value"` (findmnt -P) to a record. findmnt escapes `"` and blanks as \x.. codes. */
export function parsePairs(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    out[m[1]!] = m[2]!.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) =>
      String.fromCharCode(parseInt(h, 16)),
    );
  }
  return out;
}

/**
 * The UUID of the filesystem on a device (`blkid -p` probes the device itself: no udev database needed,
 * and containers have none); undefined when it holds no filesystem. A btrfs subvolume source such as
 * `/dev/sdb[/@data]` is read as its device.
 */
export const fsUuid = defineFact<string | undefined, string>({
  name: "fs-uuid",
  key: (device) => device,
  // blkid -p exits 2 when the device holds no known signature.
  command: (device) =>
    `out=$(blkid -p -o export ${shq(device.replace(/\[.*$/, ""))}); rc=$?; if [ $rc -eq 2 ]; then exit 0; fi; printf '%s\\n' "$out"; exit $rc`,
  parse(out, device) {
    requireSuccess("fs-uuid", `the filesystem on ${device}`, out);
    const uuid = /^UUID=(.*)$/m.exec(out.stdout)?.[1]?.trim() || undefined;
    // blkid also exits 2 when it cannot open the device (with its reason on stderr): that is no answer.
    if (!uuid && out.stderr.trim()) throw new FactReadError("fs-uuid", `the filesystem on ${device}`, out);
    return uuid;
  },
});

/**
 * The UUID of the filesystem mounted at a path: findmnt (mountinfo only, the path itself is never
 * touched) names the device, `blkid -p` probes it as `fsUuid` does. For a reader that knows only the mount
 * point (`verify`): one snippet, so it stays in the same round trip as `mountAt`. undefined when nothing
 * is mounted there or the device holds no filesystem signature (an NFS source has none to probe).
 */
export const mountedFsUuid = defineFact<string | undefined, string>({
  name: "mounted-fs-uuid",
  key: (path) => path,
  // findmnt exits 1 when nothing is mounted there, blkid -p 2 when it finds no signature (silently):
  // answers. Only a block device is probed (an NFS or overlay source has no signature to read).
  command: (path) =>
    `src=$(findmnt -n -o SOURCE --mountpoint ${shq(path)}); rc=$?; if [ $rc -eq 1 ] && [ -z "$src" ]; then exit 0; fi; [ $rc -eq 0 ] || exit $rc; ` +
    `src=$(printf '%s\\n' "$src" | tail -n 1 | sed 's/\\[.*$//'); case "$src" in /dev/*) ;; *) exit 0 ;; esac; ` +
    `out=$(blkid -p -o export "$src"); rc=$?; if [ $rc -eq 2 ]; then exit 0; fi; printf '%s\\n' "$out"; exit $rc`,
  parse(out, path) {
    const what = `the UUID of the filesystem at ${path}`;
    requireSuccess("mounted-fs-uuid", what, out);
    const uuid = /^UUID=(.*)$/m.exec(out.stdout)?.[1]?.trim();
    // blkid -p exits 2 also when it cannot open the device (EPERM, EACCES): no answer, but an error said.
    if (!uuid && out.stderr.trim()) throw new FactReadError("mounted-fs-uuid", what, { ...out, code: 2 });
    return uuid || undefined;
  },
});

/** Which of the named Debian packages are installed (dpkg's status `ii`); no apt lock, no network. */
export const debPackages = defineFact<Set<string>, string[]>({
  name: "deb-packages",
  key: (names) => names.join(","),
  // dpkg-query exits 1 when a name is unknown to it: that package is simply not installed.
  command: (names) =>
    `dpkg-query -W -f '\${Package} \${db:Status-Abbrev}\\n' ${names.map(shq).join(" ")}; rc=$?; [ $rc -le 1 ]`,
  parse(out, names) {
    requireSuccess("deb-packages", `the status of ${names.join(", ")}`, out);
    return new Set(
      out.stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([, status]) => status === "ii")
        .map(([name]) => name!.replace(/:.*$/, "")),
    );
  },
});

/** The kernel NFS server's export table (`exportfs -v`). */
export const nfsExports = defineFact<string, void>({
  name: "nfs-exports",
  command: () => "exportfs -v",
  parse(out) {
    if (out.code !== 0) throw new FactReadError("nfs-exports", "the NFS export table", out);
    return out.stdout;
  },
});

/** A directory we may remove when empty: missing, a mount point, not empty, or empty. */
export type DirState = "missing" | "mounted" | "not-empty" | "empty";

export const dirState = defineFact<DirState, string>({
  name: "dir-state",
  key: (path) => path,
  command: (path) =>
    `p=${shq(path)}; if [ ! -d "$p" ] || [ -L "$p" ]; then echo missing; elif findmnt --mountpoint "$p" >/dev/null; then echo mounted; else l=$(ls -A "$p") || exit 1; if [ -n "$l" ]; then echo not-empty; else echo empty; fi; fi`,
  parse(out, path) {
    requireSuccess("dir-state", path, out);
    const v = out.stdout.trim();
    if (!["missing", "mounted", "not-empty", "empty"].includes(v))
      throw new FactReadError("dir-state", path, { ...out, code: -1 });
    return v as DirState;
  },
});
