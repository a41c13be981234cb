/**
 * Wipe powerstack's own data filesystem (`teardown --purge-data`), and nothing else:
 *  - only a disk whose filesystem has OUR type and label (what `up` made there) is wiped; any other
 *    content, or none, is left alone (nothing to do);
 *  - never while anything on it is mounted or used as swap: the unmount comes first (the storage teardown
 *    does it earlier in the same play), and the wipe command checks again on the node before it acts.
 *
 * What "wipe" means: `wipefs -a` removes the filesystem signatures, then the first MiB is zeroed, so the
 * next `up` sees an empty disk and formats it without `--allow-format`. It is not a secure erase: file
 * contents stay in the disk's blocks until overwritten (use `blkdiscard` or `shred` for that).
 */
import { InputError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { fsUuid } from "../facts/system.js";
import { run } from "../transport/run.js";
import { disk, type DiskSeen } from "./filesystem.js";

export interface FilesystemWipeParams {
  device: string;
  fstype: "btrfs";
  label: string;
  /**
   * Check mode only: the mount point an earlier task of this run would unmount. Its unmount was only
   * planned, so the disk still shows it mounted there; the plan reports the wipe as it would happen.
   */
  unmountedBefore?: string;
}

/** The wipe, guarded on the node itself: still ours, and nothing mounted from it. */
export function wipeCommand(device: string, p: FilesystemWipeParams): string {
  return [
    `d=${shq(device)}`,
    `if findmnt -rn -S "$d" >/dev/null 2>&1 || grep -q "^$d " /proc/swaps; then echo "$d is in use (mounted or swap): not wiped" >&2; exit 1; fi`,
    `if [ "$(blkid -p -s TYPE -o value "$d")" != ${shq(p.fstype)} ] || [ "$(blkid -p -s LABEL -o value "$d")" != ${shq(p.label)} ]; then echo "$d no longer holds the ${p.fstype} filesystem of powerstack: not wiped" >&2; exit 1; fi`,
    `wipefs -a "$d"`,
    `dd if=/dev/zero of="$d" bs=1M count=1 conv=fsync status=none`,
  ].join("\n");
}

export type WipeAction = { kind: "wipe"; device: string; name: string; after: string };

export const filesystemWipe: Module<FilesystemWipeParams, { disk: DiskSeen }, WipeAction> = {
  name: "filesystem-wipe",
  reads: (p) => ({ disk: disk.of(p.device) }),
  plan({ disk: seen }, p) {
    const name = p.device === seen.resolved ? p.device : `${p.device} (${seen.resolved})`;
    if (!seen.isBlock) {
      throw new InputError(
        `storage disk ${name} is not a block device on this node: cannot purge its data`,
        "fix `storage_disk` in the inventory (ls -l /dev/disk/by-id on the node)",
      );
    }
    const sig = seen.signature;
    if (sig.TYPE !== p.fstype || sig.LABEL !== p.label) return [];
    const busy = seen.inUse.filter((m) => m !== p.unmountedBefore);
    if (busy.length > 0) {
      throw new InputError(
        `refusing to wipe ${name}: it is in use (${busy.join(", ")})`,
        "unmount it first; powerstack never wipes a mounted filesystem",
      );
    }
    const after = seen.inUse.length > 0 ? ` once ${p.unmountedBefore} is unmounted` : "";
    return [{ kind: "wipe", device: seen.resolved, name, after }];
  },
  describe: (a, p) =>
    `WIPE the ${p.fstype} filesystem "${p.label}" on ${a.name}${a.after}: Prometheus history and Grafana state are destroyed`,
  // The disk and any filesystem UUID read of it (the mount module reads it by device).
  touches: (_a, p) => [disk.of(p.device), fsUuid],
  async apply({ host }, actions, p) {
    for (const a of actions) await run(host, wipeCommand(a.device, p), { timeoutSec: 120 });
  },
};
