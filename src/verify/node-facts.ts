/**
 * What the node checks read: the same named facts the modules plan from (src/facts), read through the
 * node's FactCache in ONE round trip: the live perf_event_paranoid, what is mounted at the data path
 * (and, on the control node, the UUID of that filesystem), /etc/fstab, the export table (control) and the
 * K3s unit's state.
 *
 * Read-only, and nothing here touches the data path itself (no stat, ls or df): on a worker whose NFS
 * server is gone a `hard` mount blocks every such call, and these reads must still answer. `mountAt` and
 * `mountedFsUuid` read /proc/self/mountinfo through findmnt, and blkid probes the device, not the path.
 *
 * A read that fails (permission denied, a tool missing) is kept as that fact's error: the check that
 * needed it reports it as its finding, and the other checks still decide from what was read.
 */
import type { FactCache } from "../engine/fact-cache.js";
import type { FactRef } from "../engine/fact.js";
import type { NodeRole } from "../inventory/types.js";
import { file, type RemoteFile } from "../facts/file.js";
import { FSTAB } from "../facts/fstab.js";
import { k3sKindOf, k3sUnit } from "../facts/k3s.js";
import {
  mountAt,
  mountedFsUuid,
  nfsExports,
  sysctl,
  unit,
  type MountState,
  type UnitState,
} from "../facts/system.js";

export const PARANOID = "kernel.perf_event_paranoid";
/** Where the live value is: sysctl reads the same file, and the container lab binds its stand-in here. */
export const PARANOID_PATH = "/proc/sys/kernel/perf_event_paranoid";

/** The K3s unit of a node's role as the checks name it (`k3s.service`, `k3s-agent.service`). */
export const k3sServiceOf = (role: NodeRole) => `${k3sUnit(k3sKindOf(role))}.service`;

/** One fact as verify saw it: its value, or the error its read ended in. */
export type Seen<T> = { value: T } | { error: unknown };

export interface NodeFacts {
  /** Live value; undefined when the kernel has no such parameter. */
  paranoid?: Seen<string | undefined>;
  /** The topmost mount at the data path; undefined when nothing is mounted there. */
  mount?: Seen<MountState | undefined>;
  /** UUID of the filesystem mounted at the data path (control only). */
  uuid?: Seen<string | undefined>;
  fstab?: Seen<RemoteFile>;
  /** `exportfs -v` (control only). */
  exports?: Seen<string>;
  /** The K3s unit of the node's role. */
  unit?: Seen<UnitState>;
}

type Refs = { [K in keyof NodeFacts]-?: NodeFacts[K] extends Seen<infer T> | undefined ? FactRef<T> : never };

/** The facts a node's checks read, by role: the control node also has the UUID and the export table. */
export function nodeReads(role: NodeRole, dataPath: string): Partial<Refs> {
  const common = {
    paranoid: sysctl.of(PARANOID),
    mount: mountAt.of(dataPath),
    fstab: file.of(FSTAB),
    unit: unit.of(k3sUnit(k3sKindOf(role))),
  };
  return role === "control"
    ? { ...common, uuid: mountedFsUuid.of(dataPath), exports: nfsExports.of() }
    : common;
}

/**
 * One round trip through the node's cache (as root through the SSH user's sudo, as every fact read:
 * exportfs and a root-only fstab need it). Only a read that produced nothing at all throws.
 */
export async function readNodeFacts(cache: FactCache, role: NodeRole, dataPath: string): Promise<NodeFacts> {
  const refs = nodeReads(role, dataPath);
  const failed = new Map<string, unknown>();
  await cache.read(Object.values(refs) as Array<FactRef<unknown>>, failed);
  const facts: Record<string, Seen<unknown>> = {};
  for (const [name, ref] of Object.entries(refs)) {
    facts[name] = failed.has(ref.key)
      ? { error: failed.get(ref.key) }
      : { value: cache.get(ref as FactRef<unknown>) };
  }
  return facts as NodeFacts;
}
