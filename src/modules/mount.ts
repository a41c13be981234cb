/**
 * A mount: its /etc/fstab entry (keyed by mount point; a block device is written as UUID=, so a disk
 * renamed at boot still mounts) and the mounted state. systemd reads fstab through a generator, so a
 * changed fstab is followed by `daemon-reload` before mounting.
 */
import { PowerstackError } from "../errors.js";
import type { FileDiff, Module } from "../engine/types.js";
import { file, type RemoteFile } from "../facts/file.js";
import { FSTAB, fstabField } from "../facts/fstab.js";
import { fsUuid, mountAt, unit, type MountState } from "../facts/system.js";
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
  /** UUID of `source.device`, if it has a filesystem (undefined for a literal source). */
  uuid: string | undefined;
  mounted: MountState | undefined;
  fstab: RemoteFile;
}

export type MountAction =
  | { kind: "write-fstab"; diff: FileDiff; line?: string }
  | { kind: "mount" }
  | { kind: "unmount" }
  /** --check only: the filesystem task before this one is planned, not done; apply refuses. */
  | { kind: "mount-new-filesystem"; device: string };

export function fstabLine(p: MountParams, uuid: string | undefined): string {
  const src = "device" in p.source ? `UUID=${uuid}` : p.source.spec;
  return `${src} ${fstabField(p.path)} ${p.fstype} ${p.options} 0 ${p.fstype === "btrfs" || p.fstype.startsWith("ext") ? 2 : 0}`;
}

/** Lines whose mount point (field 2, as fstab escapes it) is `path`. */
const forMountPoint = (path: string) =>
  new RegExp(`^\\s*[^#\\s]\\S*\\s+${fstabField(path).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s`);

export const mount: Module<MountParams, MountSeen, MountAction> = {
  name: "mount",
  reads: (p) => ({
    // A literal source (NFS) has no UUID to read.
    uuid: "device" in p.source ? fsUuid.of(p.source.device) : undefined,
    mounted: mountAt.of(p.path),
    fstab: file.of(FSTAB),
  }),
  plan(seen, p) {
    const fstab = seen.fstab.content ?? "";
    const match = forMountPoint(p.path);
    if (p.state === "absent") {
      const actions: MountAction[] = [];
      const after = editLines(fstab, { path: FSTAB, line: "", match, state: "absent" });
      if (seen.mounted) actions.push({ kind: "unmount" });
      if (after !== fstab) actions.push({ kind: "write-fstab", diff: { path: FSTAB, before: fstab, after } });
      return actions;
    }
    if ("device" in p.source && !seen.uuid)
      return [{ kind: "mount-new-filesystem", device: p.source.device }];
    const line = fstabLine(p, seen.uuid);
    const after = editLines(fstab, { path: FSTAB, line, match });
    const actions: MountAction[] = [];
    if (after !== fstab)
      actions.push({ kind: "write-fstab", line, diff: { path: FSTAB, before: fstab, after } });
    if (!seen.mounted) actions.push({ kind: "mount" });
    return actions;
  },
  describe(a, p) {
    switch (a.kind) {
      case "write-fstab":
        return a.line ? `${FSTAB}: ${a.line}` : `remove ${p.path} from ${FSTAB}`;
      case "mount":
      case "unmount":
        return `${a.kind} ${p.path}`;
      case "mount-new-filesystem":
        return `${FSTAB}: ${p.path} by UUID of ${a.device}, and mount it (no filesystem there yet)`;
    }
  },
  // Mounting or unmounting changes what every path below the mount point reads as: all facts go.
  // Writing fstab is followed by daemon-reload: every unit's NeedDaemonReload changes with it.
  touches: (a) => (a.kind === "write-fstab" ? [file.of(FSTAB), unit] : "all"),
  async apply({ host, facts }, actions, p) {
    const reload = facts.init === "systemd" ? "systemctl daemon-reload" : "true";
    for (const a of actions) {
      switch (a.kind) {
        case "mount-new-filesystem":
          throw new PowerstackError(
            `${a.device} has no filesystem UUID`,
            undefined,
            "create the filesystem first (the storage role does, before mounting)",
          );
        case "unmount":
          await run(host, `umount ${shq(p.path)}`, { timeoutSec: 120 });
          break;
        case "write-fstab":
          await writeFileAtomic(host, FSTAB, a.diff.after);
          await run(host, reload);
          break;
        case "mount": {
          // A device is mounted by its path with the fstab line's type and options: right after mkfs, udev
          // may not have made /dev/disk/by-uuid/<uuid> yet (and containers have no udev), so `mount <path>`,
          // which resolves UUID= through those links, can fail. fstab keeps the UUID for every later boot.
          const how =
            "device" in p.source
              ? `-t ${shq(p.fstype)} -o ${shq(p.options)} ${shq(p.source.device)} ${shq(p.path)}`
              : shq(p.path);
          await run(host, `mkdir -p ${shq(p.path)} && mount ${how}`, { timeoutSec: 120 });
        }
      }
    }
  },
};
