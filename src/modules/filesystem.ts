/**
 * Make a filesystem on a disk, only when that is safe. The rules, in order:
 *  1. our own filesystem (same type and label) is there: nothing to do;
 *  2. the disk holds `/`, or anything on it is mounted or used as swap: refused, even with --allow-format;
 *  3. the disk has a filesystem, a partition table, or any non-zero byte in its first MiB: refused
 *     unless the operator named this very disk with --allow-format;
 *  4. otherwise (an empty disk): mkfs.
 */
import { InputError } from "../errors.js";
import { defineFact, FactReadError } from "../engine/fact.js";
import type { Module } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { fsUuid } from "../facts/system.js";
import { run } from "../transport/run.js";

export interface FilesystemParams {
  device: string;
  fstype: "btrfs";
  label: string;
  /** The disk the operator allowed to be formatted (--allow-format), if any. */
  allowFormat?: string;
}

export interface DiskSeen {
  /** `device` with symlinks (by-id) resolved. */
  resolved: string;
  isBlock: boolean;
  /** `blkid -p` of the whole disk: TYPE, LABEL, UUID, PTTYPE. */
  signature: Record<string, string>;
  /** Partitions and other children of the disk. */
  children: string[];
  /** Mount points (and `[SWAP]`) of the disk or its children. */
  inUse: string[];
  /** Bytes other than zero in the first MiB: data without a signature blkid knows. */
  nonZeroBytes: number;
}

/** A disk as `filesystem` and `filesystem-wipe` need to see it before they may touch it. */
export const disk = defineFact<DiskSeen, string>({
  name: "disk",
  key: (device) => device,
  command: (device) =>
    [
      `d=$(readlink -f ${shq(device)}); echo "resolved=$d"`,
      `[ -b "$d" ] && echo block=yes || echo block=no`,
      `echo "sig=$(blkid -p -o export "$d" 2>/dev/null | tr '\\n' ' ')"`,
      `kids=$(lsblk -n -l -o PATH "$d" 2>/dev/null | tail -n +2 | tr '\\n' ' '); echo "children=$kids"`,
      `echo "inuse=$(for x in "$d" $kids; do findmnt -rn -S "$x" -o TARGET; grep -q "^$x " /proc/swaps && echo '[SWAP]'; done 2>/dev/null | tr '\\n' ' ')"`,
      `echo "nonzero=$(head -c 1048576 "$d" 2>/dev/null | tr -d '\\000' | wc -c)"`,
    ].join("; "),
  parse(out, device) {
    const seen = parseDisk(out.stdout);
    if (!seen.resolved) throw new FactReadError("disk", `the disk ${device}`, out);
    return seen;
  },
});

function parseDisk(stdout: string): DiskSeen {
  const v = Object.fromEntries(
    stdout.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const words = (s: string | undefined) => (s ?? "").trim().split(/\s+/).filter(Boolean);
  return {
    resolved: (v.resolved ?? "").trim(),
    isBlock: v.block === "yes",
    signature: Object.fromEntries(
      words(v.sig).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    ),
    children: words(v.children),
    inUse: words(v.inuse),
    nonZeroBytes: Number((v.nonzero ?? "0").trim()) || 0,
  };
}

export type FilesystemAction = { kind: "mkfs"; device: string; name: string; wipe: boolean; held?: string };

export const filesystem: Module<FilesystemParams, { disk: DiskSeen }, FilesystemAction> = {
  name: "filesystem",
  reads: (p) => ({ disk: disk.of(p.device) }),
  plan({ disk: seen }, p) {
    const name = p.device === seen.resolved ? p.device : `${p.device} (${seen.resolved})`;
    if (!seen.isBlock) {
      throw new InputError(
        `storage disk ${name} is not a block device on this node`,
        "fix `storage_disk` in the inventory (ls -l /dev/disk/by-id on the node)",
      );
    }
    const sig = seen.signature;
    if (sig.TYPE === p.fstype && sig.LABEL === p.label) return [];
    if (seen.inUse.length > 0) {
      throw new InputError(
        `refusing to format ${name}: it is in use (${seen.inUse.join(", ")})`,
        "name an unused disk in `storage_disk`; powerstack never formats the OS disk or a mounted one",
      );
    }
    const holds = sig.TYPE
      ? `a ${sig.TYPE} filesystem${sig.LABEL ? ` labelled "${sig.LABEL}"` : ""}`
      : sig.PTTYPE || seen.children.length
        ? `a ${sig.PTTYPE ?? ""} partition table (${seen.children.join(", ") || "no partitions"})`
        : seen.nonZeroBytes > 0
          ? "data (non-zero bytes in its first MiB, no known signature)"
          : undefined;
    const allowed = p.allowFormat !== undefined && [p.device, seen.resolved].includes(p.allowFormat);
    if (holds && !allowed) {
      throw new InputError(
        `refusing to format ${name}: it holds ${holds}`,
        `if its data may be destroyed, rerun with --allow-format ${p.device}`,
      );
    }
    // -f (and wipefs) only for a disk the operator allowed: for an empty one mkfs keeps its own check too.
    const wipe = Boolean(sig.TYPE || sig.PTTYPE || seen.children.length || seen.nonZeroBytes);
    return [{ kind: "mkfs", device: seen.resolved, name, wipe, ...(holds ? { held: holds } : {}) }];
  },
  describe: (a, p) =>
    `${a.held ? "WIPE and " : ""}create ${p.fstype} filesystem "${p.label}" on ${a.name}${a.held ? ` (held ${a.held})` : ""}`,
  // The disk and any filesystem UUID read of it (the mount module reads it by device).
  touches: (_a, p) => [disk.of(p.device), fsUuid],
  async apply({ host }, actions, p) {
    for (const a of actions) {
      if (a.wipe) await run(host, `wipefs -a ${shq(a.device)}`);
      await run(host, `mkfs.btrfs -q ${a.wipe ? "-f " : ""}-L ${shq(p.label)} ${shq(a.device)}`, {
        timeoutSec: 300,
      });
    }
  },
};
