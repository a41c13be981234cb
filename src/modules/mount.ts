/**
 * A mount: its /etc/fstab entry (keyed by mount point; a block device is written as UUID=, so a disk
 * renamed at boot still mounts) and the mounted state. systemd reads fstab through a generator, so a
 * changed fstab is followed by `daemon-reload` before mounting.
 */
import { PowerstackError } from "../errors.js";
import type { Change, ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { editLines } from "./line-in-file.js";
import { writeFileAtomic } from "./remote-file.js";

export interface MountParams {
  path: string;
  /** A block device (written to fstab by UUID) or a literal source such as `10.0.0.10:/mnt/data`. */
  source: { device: string } | { spec: string };
  fstype: string;
  options: string;
  state: "mounted" | "absent";
}

interface MountSeen {
  /** UUID of `source.device`, if it has a filesystem. */
  uuid?: string;
  /** Source currently mounted at `path`. */
  mountedFrom?: string;
  fstab: string;
}

const FSTAB = "/etc/fstab";

export function fstabLine(p: MountParams, uuid: string | undefined): string {
  const src = "device" in p.source ? `UUID=${uuid}` : p.source.spec;
  return `${src} ${p.path} ${p.fstype} ${p.options} 0 ${p.fstype === "btrfs" || p.fstype.startsWith("ext") ? 2 : 0}`;
}

/** Lines whose mount point (field 2) is `path`. */
const forMountPoint = (path: string) =>
  new RegExp(`^\\s*[^#\\s]\\S*\\s+${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s`);

export const mount: ShellModule<MountParams, MountSeen> = {
  name: "mount",
  probe: (p) => ({
    command: [
      "device" in p.source
        ? `echo "uuid=$(blkid -p -o export ${shq(p.source.device)} 2>/dev/null | sed -n 's/^UUID=//p')"`
        : "echo uuid=",
      `echo "mounted=$(findmnt -n -o SOURCE --mountpoint ${shq(p.path)} 2>/dev/null | head -n1)"`,
      `base64 -w0 ${FSTAB} 2>/dev/null`,
    ].join("; "),
    parse(stdout) {
      const [u = "", m = "", f = ""] = stdout.split("\n");
      return {
        uuid: u.replace(/^uuid=/, "").trim() || undefined,
        mountedFrom: m.replace(/^mounted=/, "").trim() || undefined,
        fstab: Buffer.from(f.trim(), "base64").toString("utf8"),
      };
    },
  }),
  plan(seen, p) {
    const changes: Change[] = [];
    const match = forMountPoint(p.path);
    if (p.state === "absent") {
      const after = editLines(seen.fstab, { path: FSTAB, line: "", match, state: "absent" });
      if (seen.mountedFrom) changes.push({ summary: `unmount ${p.path}` });
      if (after !== seen.fstab)
        changes.push({
          summary: `remove ${p.path} from ${FSTAB}`,
          diff: { path: FSTAB, before: seen.fstab, after },
        });
      return changes;
    }
    if ("device" in p.source && !seen.uuid) {
      // In --check the filesystem task before this one may only be planned: report; apply re-checks.
      return [
        {
          summary: `${FSTAB}: ${p.path} by UUID of ${p.source.device}, and mount it (no filesystem there yet)`,
        },
      ];
    }
    const line = fstabLine(p, seen.uuid);
    const after = editLines(seen.fstab, { path: FSTAB, line, match });
    if (after !== seen.fstab)
      changes.push({ summary: `${FSTAB}: ${line}`, diff: { path: FSTAB, before: seen.fstab, after } });
    if (!seen.mountedFrom) changes.push({ summary: `mount ${p.path}` });
    return changes;
  },
  async apply({ host, facts }, p, changes, seen) {
    const fstab = changes.find((c) => c.diff);
    const reload = facts.init === "systemd" ? "systemctl daemon-reload" : "true";
    if (p.state === "absent") {
      if (changes.some((c) => c.summary.startsWith("unmount")))
        await run(host, `umount ${shq(p.path)}`, { timeoutSec: 120 });
      if (fstab) {
        await writeFileAtomic(host, FSTAB, fstab.diff!.after);
        await run(host, reload);
      }
      return;
    }
    if ("device" in p.source && !seen.uuid) {
      throw new PowerstackError(
        `${p.source.device} has no filesystem UUID`,
        undefined,
        "create the filesystem first (the storage role does, before mounting)",
      );
    }
    if (fstab) {
      await writeFileAtomic(host, FSTAB, fstab.diff!.after);
      await run(host, reload);
    }
    if (changes.some((c) => c.summary.startsWith("mount"))) {
      // A device is mounted by its path with the fstab line's type and options: right after mkfs, udev may
      // not have made /dev/disk/by-uuid/<uuid> yet (and containers have no udev), so `mount <path>`, which
      // resolves UUID= through those links, can fail. fstab keeps the UUID for every boot after this one.
      const how =
        "device" in p.source
          ? `-t ${shq(p.fstype)} -o ${shq(p.options)} ${shq(p.source.device)} ${shq(p.path)}`
          : shq(p.path);
      await run(host, `mkdir -p ${shq(p.path)} && mount ${how}`, { timeoutSec: 120 });
    }
  },
};
