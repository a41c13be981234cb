/**
 * The cluster's volumes on the data path gone from Kubernetes, their data kept on the disk: the
 * PersistentVolumes whose storage is the data path (over NFS from the control node, or a hostPath/local
 * path below it), the claims bound to them, and the StorageClass only they use.
 *
 * They are found by where their storage is, not by name: whatever names the cluster-storage role gives
 * them, a PV that points into the data path is ours and one that does not is never touched. Explicitly
 * named StorageClasses are removed too (a class can outlive its volumes after an interrupted teardown).
 *
 * Order, and why:
 *  1. reclaim policy Retain on every such PV first: deleting a claim releases its volume, and a `Delete`
 *     policy would then let a provisioner erase the directory (k3s' local-path does exactly that);
 *  2. claims, waited for: a claim in use is only removed once its pod has stopped, so Prometheus has
 *     shut down and written its data before K3s is uninstalled;
 *  3. volumes, then 4. classes.
 */
import { defineFact } from "../engine/fact.js";
import type { Module } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import {
  clusterReadCommand,
  clusterUnreadable,
  KUBECTL,
  parseClusterRead,
  type ClusterRead,
} from "./cluster-read.js";

export interface DataVolumesAbsentParams {
  /** The data path on the control node (NFS export) and on the workers (NFS mount). */
  dataPath: string;
  /** Addresses a PV may name as its NFS server: the control node's internal IP, name, external IP. */
  servers: string[];
  /** StorageClasses to delete by name, whoever uses them (those of the cluster-storage role). */
  storageClasses?: string[];
  /** How long a claim may take to go (its pod shutting down); default 600 s, Prometheus' grace period. */
  claimTimeoutSec?: number;
}

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}

/** The fields of `kubectl get -o json` items this module reads. */
export interface KubeItem {
  kind: string;
  metadata: Meta;
  spec?: {
    nfs?: { server?: string; path?: string };
    hostPath?: { path?: string };
    local?: { path?: string };
    csi?: { driver?: string; volumeAttributes?: Record<string, string> };
    storageClassName?: string;
    persistentVolumeReclaimPolicy?: string;
    claimRef?: { namespace?: string; name?: string };
    volumeName?: string;
  };
  parameters?: Record<string, string>;
}

export type VolumesSeen = ClusterRead & { items?: KubeItem[] };

export interface DataVolumes {
  /** PVs whose reclaim policy must become Retain before their claim goes. */
  retain: string[];
  claims: Array<{ namespace: string; name: string }>;
  volumes: string[];
  classes: string[];
}

const MANAGED_BY = "app.kubernetes.io/managed-by";
const DEFAULT_CLAIM_TIMEOUT_SEC = 600;

export const VOLUMES_READ = `${KUBECTL} get storageclass,persistentvolume,persistentvolumeclaim -A -o json`;

function under(path: string | undefined, dataPath: string): boolean {
  if (!path) return false;
  const norm = (s: string) => s.replace(/\/+$/, "") || "/";
  const p = norm(path);
  const d = norm(dataPath);
  return p === d || p.startsWith(d === "/" ? "/" : `${d}/`);
}

function onDataPath(pv: KubeItem, p: DataVolumesAbsentParams): boolean {
  const s = pv.spec ?? {};
  if (s.nfs && p.servers.includes(s.nfs.server ?? "") && under(s.nfs.path, p.dataPath)) return true;
  if (under(s.hostPath?.path, p.dataPath) || under(s.local?.path, p.dataPath)) return true;
  const csi = s.csi?.volumeAttributes;
  if (s.csi?.driver === "nfs.csi.k8s.io" && csi && p.servers.includes(csi.server ?? ""))
    return under(csi.share, p.dataPath);
  return pv.metadata.labels?.[MANAGED_BY] === "powerstack";
}

/** Pure: which objects of the cluster are ours to remove, from what the probe listed. */
export function selectDataVolumes(items: KubeItem[], p: DataVolumesAbsentParams): DataVolumes {
  const pvs = items.filter((i) => i.kind === "PersistentVolume");
  const pvcs = items.filter((i) => i.kind === "PersistentVolumeClaim");
  const scs = items.filter((i) => i.kind === "StorageClass");
  const ours = pvs.filter((pv) => onDataPath(pv, p));
  const ourNames = new Set(ours.map((pv) => pv.metadata.name));
  const claimKey = (ns?: string, name?: string) => `${ns ?? ""}/${name ?? ""}`;
  const refs = new Set(ours.map((pv) => claimKey(pv.spec?.claimRef?.namespace, pv.spec?.claimRef?.name)));
  const claims = pvcs.filter(
    (c) =>
      ourNames.has(c.spec?.volumeName ?? "") || refs.has(claimKey(c.metadata.namespace, c.metadata.name)),
  );
  const claimSet = new Set(claims);

  // A class our volumes name is ours only if nothing else (another PV, an unrelated claim) uses it.
  const usedElsewhere = new Set(
    [...pvs.filter((pv) => !ourNames.has(pv.metadata.name)), ...pvcs.filter((c) => !claimSet.has(c))]
      .map((o) => o.spec?.storageClassName)
      .filter((n): n is string => !!n),
  );
  const named = new Set([
    ...(p.storageClasses ?? []),
    ...ours.map((pv) => pv.spec?.storageClassName).filter((n): n is string => !!n && !usedElsewhere.has(n)),
  ]);
  const classes = scs.filter(
    (sc) =>
      named.has(sc.metadata.name) ||
      sc.metadata.labels?.[MANAGED_BY] === "powerstack" ||
      // An NFS provisioner's class (csi-driver-nfs, nfs-subdir) pointed at our export.
      (p.servers.includes(sc.parameters?.server ?? "") &&
        under(sc.parameters?.share ?? sc.parameters?.path, p.dataPath)),
  );
  return {
    retain: ours
      .filter((pv) => (pv.spec?.persistentVolumeReclaimPolicy ?? "Delete") !== "Retain")
      .map((pv) => pv.metadata.name),
    claims: claims.map((c) => ({ namespace: c.metadata.namespace ?? "default", name: c.metadata.name })),
    volumes: ours.map((pv) => pv.metadata.name),
    classes: classes.map((sc) => sc.metadata.name),
  };
}

/** The commands that remove them, in order (see the header for why this order). */
/** One removal step, in the order a volume's data is kept safe: Retain first, then claims, volumes, classes. */
export type VolumeAction =
  | { kind: "retain"; volume: string }
  | { kind: "delete-claim"; namespace: string; name: string }
  | { kind: "delete-volume"; volume: string }
  | { kind: "delete-class"; name: string };

export function volumeActions(v: DataVolumes): VolumeAction[] {
  return [
    ...v.retain.map((volume) => ({ kind: "retain" as const, volume })),
    ...v.claims.map((c) => ({ kind: "delete-claim" as const, ...c })),
    ...v.volumes.map((volume) => ({ kind: "delete-volume" as const, volume })),
    ...v.classes.map((name) => ({ kind: "delete-class" as const, name })),
  ];
}

export function volumeCommand(a: VolumeAction, p: DataVolumesAbsentParams): string {
  switch (a.kind) {
    case "retain":
      return `${KUBECTL} patch persistentvolume ${shq(a.volume)} --type merge -p ${shq(JSON.stringify({ spec: { persistentVolumeReclaimPolicy: "Retain" } }))}`;
    case "delete-claim":
      return `${KUBECTL} delete persistentvolumeclaim ${shq(a.name)} -n ${shq(a.namespace)} --ignore-not-found --wait=true --timeout=${p.claimTimeoutSec ?? DEFAULT_CLAIM_TIMEOUT_SEC}s`;
    case "delete-volume":
      return `${KUBECTL} delete persistentvolume ${shq(a.volume)} --ignore-not-found --wait=true --timeout=120s`;
    case "delete-class":
      return `${KUBECTL} delete storageclass ${shq(a.name)} --ignore-not-found`;
  }
}

export function dataVolumeCommands(v: DataVolumes, p: DataVolumesAbsentParams): string[] {
  return volumeActions(v).map((a) => volumeCommand(a, p));
}

/** Every StorageClass, PersistentVolume and claim of the cluster, in one read. */
export const clusterVolumes = defineFact<VolumesSeen>({
  name: "cluster-volumes",
  command: () => clusterReadCommand(VOLUMES_READ),
  parse(out) {
    const read = parseClusterRead(out.stdout);
    if (!read.installed || read.code !== 0) return read;
    try {
      return { ...read, items: (JSON.parse(read.output) as { items?: KubeItem[] }).items ?? [] };
    } catch {
      return { ...read, code: -1 };
    }
  },
});

export const dataVolumesAbsent: Module<DataVolumesAbsentParams, { seen: VolumesSeen }, VolumeAction> = {
  name: "data-volumes-absent",
  reads: () => ({ seen: clusterVolumes.of() }),
  plan({ seen }, p) {
    if (!seen.installed) return [];
    if (seen.code !== 0 || !seen.items)
      throw clusterUnreadable("listing PersistentVolumes, claims and StorageClasses", seen);
    return volumeActions(selectDataVolumes(seen.items, p));
  },
  describe(a) {
    switch (a.kind) {
      case "retain":
        return `reclaim policy Retain on PersistentVolume ${a.volume} (its data stays on the disk)`;
      case "delete-claim":
        return `delete PersistentVolumeClaim ${a.namespace}/${a.name}`;
      case "delete-volume":
        return `delete PersistentVolume ${a.volume}`;
      case "delete-class":
        return `delete StorageClass ${a.name}`;
    }
  },
  // A change in the cluster may change any read of it (objects, releases, volumes, nodes, Grafana's login).
  touches: () => "all",
  async apply({ host }, actions, p) {
    for (const a of actions)
      await run(host, volumeCommand(a, p), {
        timeoutSec: (a.kind === "delete-claim" ? (p.claimTimeoutSec ?? DEFAULT_CLAIM_TIMEOUT_SEC) : 120) + 60,
      });
  },
};
