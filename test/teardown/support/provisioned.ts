/**
 * Fake nodes as `powerstack up` leaves them (fake-node.ts models), plus things teardown must NOT touch:
 * another export, another fstab line, another team's volume, claim and StorageClass.
 */
import type { KubeItem } from "../../../src/modules/data-volumes-absent.js";
import { STORAGE_CLASS } from "../../../roles/cluster-storage/volumes.js";
import { POST_RENDER_PATCH, POST_RENDER_SCRIPT } from "../../../roles/kepler/release.js";
import { GRAFANA_CLAIM, PROMETHEUS_CLAIM } from "../../../roles/monitoring/release.js";
import { emptyModel, HELM, K3S, type NodeModel } from "./fake-node.js";

export const OUR_EXPORT = "/mnt/data 198.51.100.0/24(rw,sync,no_subtree_check,no_root_squash)";
export const OTHER_EXPORT = "/srv/backup 198.51.100.0/24(ro)";
export const ROOT_FSTAB = "UUID=1111 / ext4 errors=remount-ro 0 1";
export const DATA_FSTAB = "UUID=2222 /mnt/data btrfs defaults,noatime 0 2";
export const NFS_FSTAB = "198.51.100.10:/mnt/data /mnt/data nfs4 _netdev,nofail,noatime,hard 0 0";
export const DROP_IN = "/etc/sysctl.d/90-powerstack.conf";
/** An air-gapped install keeps K3s' install script in powerstack's directory. */
export const INSTALL_SCRIPT = "/var/lib/powerstack/k3s-install.sh";

const pv = (
  name: string,
  source: NonNullable<KubeItem["spec"]>,
  policy: string,
  claim?: [string, string],
): KubeItem => ({
  kind: "PersistentVolume",
  metadata: { name },
  spec: {
    ...source,
    persistentVolumeReclaimPolicy: policy,
    claimRef: claim ? { namespace: claim[0], name: claim[1] } : undefined,
  },
});
const pvc = (namespace: string, name: string, volumeName: string, sc: string): KubeItem => ({
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace },
  spec: { volumeName, storageClassName: sc },
});
const sc = (name: string, provisioner: string): KubeItem =>
  ({ kind: "StorageClass", metadata: { name }, provisioner }) as KubeItem;

/** Kubernetes objects on the control node: ours on /mnt/data over NFS, and others. */
export function clusterObjects(): KubeItem[] {
  const nfs = (path: string) => ({ nfs: { server: "198.51.100.10", path }, storageClassName: STORAGE_CLASS });
  return [
    sc(STORAGE_CLASS, "kubernetes.io/no-provisioner"),
    sc("local-path", "rancher.io/local-path"),
    pv("powerstack-prometheus", nfs("/mnt/data/prometheus"), "Retain", ["monitoring", PROMETHEUS_CLAIM]),
    pv("powerstack-grafana", nfs("/mnt/data/grafana"), "Delete", ["monitoring", GRAFANA_CLAIM]),
    pv("powerstack-alertmanager", nfs("/mnt/data/alertmanager"), "Retain"),
    pvc("monitoring", PROMETHEUS_CLAIM, "powerstack-prometheus", STORAGE_CLASS),
    pvc("monitoring", GRAFANA_CLAIM, "powerstack-grafana", STORAGE_CLASS),
    // Not ours: a local-path volume of an app, on the node's disk outside the data path.
    pv(
      "pvc-123",
      { hostPath: { path: "/var/lib/rancher/k3s/storage/pvc-123" }, storageClassName: "local-path" },
      "Delete",
      ["apps", "app-data"],
    ),
    pvc("apps", "app-data", "pvc-123", "local-path"),
  ];
}

export function provisionedControl(): NodeModel {
  const m = emptyModel();
  for (const f of [K3S, HELM, "/usr/local/bin/k3s-uninstall.sh", "/usr/local/bin/k3s-killall.sh"])
    m.files.set(f, "");
  m.files.set("/etc/exports", `${OTHER_EXPORT}\n${OUR_EXPORT}\n`);
  m.files.set("/etc/fstab", `${ROOT_FSTAB}\n${DATA_FSTAB}\n`);
  m.files.set(DROP_IN, "# Managed by powerstack\nkernel.perf_event_paranoid = -1\n");
  m.files.set("/usr/sbin/exportfs", "");
  for (const f of [POST_RENDER_SCRIPT, POST_RENDER_PATCH]) m.files.set(f, "#");
  m.dirs = new Set(["/var/lib/powerstack", "/var/lib/powerstack/helm", "/var/lib/powerstack/helm/kepler"]);
  m.files.set(INSTALL_SCRIPT, "#!/bin/sh");
  m.dirs.add("/mnt/data");
  m.mounts.set("/mnt/data", "/dev/vdb");
  m.filesystems.set("/dev/vdb", { type: "btrfs", label: "powerstack-data", uuid: "2222" });
  m.releases = new Set(["kepler/kepler", "monitoring/kube-prometheus-stack"]);
  m.namespaces = new Set(["default", "kube-system", "monitoring", "kepler", "apps"]);
  m.objects = clusterObjects();
  return m;
}

export function provisionedWorker(): NodeModel {
  const m = emptyModel();
  for (const f of [K3S, "/usr/local/bin/k3s-agent-uninstall.sh", "/usr/local/bin/k3s-killall.sh"])
    m.files.set(f, "");
  m.files.set("/etc/fstab", `${ROOT_FSTAB}\n${NFS_FSTAB}\n`);
  m.dirs.add("/var/lib/powerstack");
  m.files.set(INSTALL_SCRIPT, "#!/bin/sh");
  m.files.set(DROP_IN, "# Managed by powerstack\nkernel.perf_event_paranoid = -1\n");
  m.dirs.add("/mnt/data");
  m.mounts.set("/mnt/data", "198.51.100.10:/mnt/data");
  return m;
}

export const provisioned = () => ({
  ctl: provisionedControl(),
  w1: provisionedWorker(),
  w2: provisionedWorker(),
});

/** Nodes after `up --only kernel,storage`: no K3s, no Helm, no NFS. */
export function hostLayerOnly(): Record<string, NodeModel> {
  const nodes = provisioned();
  for (const m of Object.values(nodes)) {
    for (const f of [...m.files.keys()]) if (/^\/(usr|var)\//.test(f)) m.files.delete(f);
    for (const d of [...m.dirs]) if (d.startsWith("/var/")) m.dirs.delete(d);
    m.releases.clear();
    m.namespaces.clear();
    m.objects = [];
  }
  nodes.ctl.files.delete("/etc/exports");
  for (const w of [nodes.w1, nodes.w2]) {
    w.files.set("/etc/fstab", `${ROOT_FSTAB}\n`);
    w.mounts.clear();
    w.dirs.clear();
  }
  return nodes;
}
