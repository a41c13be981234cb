/**
 * The pure decisions of the teardown modules and roles: which cluster objects are ours, when a release,
 * a namespace, a mount point or the data filesystem is removed, and what is refused; plus the command
 * the wipe sends, guarded on the node.
 */
import { describe, expect, test } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import { clusterRead, parseClusterRead, type ClusterRead } from "../../src/modules/cluster-read.js";
import { selectDataVolumes, type KubeItem } from "../../src/modules/data-volumes-absent.js";
import { filesystemWipe, type FilesystemWipeParams } from "../../src/modules/filesystem-wipe.js";
import { helmReleaseAbsent } from "../../src/modules/helm-release-absent.js";
import { kubeObjectAbsent } from "../../src/modules/kube-object-absent.js";
import { emptyDirAbsent } from "../../src/modules/empty-dir-absent.js";
import type { DiskSeen } from "../../src/modules/filesystem.js";
import { RecordingHost } from "../support/recording-host.js";
import { stackNamespaces } from "../../roles/teardown-cluster-storage/index.js";
import { inventory, INVENTORY } from "./support/run-teardown.js";

const read = (output: string, code = 0) => ({ installed: true as const, code, output });
/** What the modules plan from a cluster read, as the summary lines the runner shows. */
const releasePlan = (seen: ClusterRead, p: { release: string; namespace: string }) =>
  helmReleaseAbsent.plan({ seen }, p).map((a) => helmReleaseAbsent.describe(a, p));
const namespacePlan = (seen: ClusterRead, p: { kind: string; name: string }) =>
  kubeObjectAbsent.plan({ seen }, p).map((a) => kubeObjectAbsent.describe(a, p));
const params = { dataPath: "/mnt/data", servers: ["198.51.100.10", "ctl", "192.0.2.10"] };
const pv = (
  name: string,
  spec: NonNullable<KubeItem["spec"]>,
  labels?: Record<string, string>,
): KubeItem => ({
  kind: "PersistentVolume",
  metadata: { name, labels },
  spec,
});
const sc = (name: string, extra: Partial<KubeItem> = {}): KubeItem => ({
  kind: "StorageClass",
  metadata: { name },
  ...extra,
});

describe("cluster reads", () => {
  test("no K3s (or no Helm) is an answer, not an error; the read's status and output otherwise", () => {
    expect(parseClusterRead("absent=/usr/local/bin/k3s\n")).toEqual({
      installed: false,
      missing: "/usr/local/bin/k3s",
    });
    expect(parseClusterRead("rc=0\nkepler\n\n")).toEqual(read("kepler"));
    expect(parseClusterRead("rc=1\nconnection refused\n")).toEqual(read("connection refused", 1));
    expect(parseClusterRead("garbage")).toMatchObject({ installed: true, code: -1 });
  });
});

describe("Helm release absent", () => {
  const p = { release: "kepler", namespace: "kepler" };
  test("uninstalled only when listed; nothing to do without K3s or Helm", () => {
    expect(releasePlan(read("kepler"), p)).toEqual(["helm uninstall kepler -n kepler"]);
    // A warning line Helm prints among the names is not a release.
    expect(releasePlan(read("WARNING: kubeconfig is group-readable\n"), p)).toEqual([]);
    expect(releasePlan(read("kepler-old"), p)).toEqual([]);
    expect(releasePlan({ installed: false, missing: "/usr/local/bin/helm" }, p)).toEqual([]);
  });
  test("an API that does not answer is an error naming the namespace and the fix", () => {
    expect(() => releasePlan(read("Error: Kubernetes cluster unreachable", 1), p)).toThrow(
      /K3s is installed but listing Helm releases in namespace kepler failed \(exit 1\):\n    Error: Kubernetes cluster unreachable/,
    );
  });
  test("the read anchors the release name (Helm's filter is a regex), and needs K3s and Helm", () => {
    const ref = helmReleaseAbsent.reads({ release: "kube-prometheus-stack", namespace: "monitoring" }).seen;
    expect(ref.family).toBe(clusterRead);
    expect(ref.arg).toEqual({
      read: "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm list -n 'monitoring' -a -q --filter '^kube-prometheus-stack$'",
      needs: ["/usr/local/bin/k3s", "/usr/local/bin/helm"],
    });
  });
});

describe("namespaces", () => {
  const ns = (name: string) => ({ kind: "namespace", name });
  test("deleted only when present; K3s' own namespaces refused even if asked", () => {
    expect(namespacePlan(read("namespace/monitoring"), ns("monitoring"))).toEqual([
      "delete namespace monitoring",
    ]);
    expect(namespacePlan(read(""), ns("monitoring"))).toEqual([]);
    expect(() => namespacePlan(read("namespace/kube-system"), ns("kube-system"))).toThrow(
      /refusing to delete namespace kube-system/,
    );
  });
  test("the role leaves K3s' namespaces out and names a shared namespace once", () => {
    expect(stackNamespaces(inventory())).toEqual(["kepler", "monitoring"]);
    const shared = inventory(
      INVENTORY.replace(
        "  nfs_network: 198.51.100.0/24\n",
        "  nfs_network: 198.51.100.0/24\n  monitoring: { namespace: kube-system }\n  kepler: { namespace: kube-system }\n",
      ),
    );
    expect(stackNamespaces(shared)).toEqual([]);
  });
});

describe("volumes on the data path", () => {
  test("ours by where their storage is: NFS from the control node, hostPath/local below the data path, csi-driver-nfs, our label", () => {
    const items = [
      pv("nfs-ip", { nfs: { server: "198.51.100.10", path: "/mnt/data/prometheus" } }),
      pv("nfs-name", { nfs: { server: "ctl", path: "/mnt/data/" } }),
      pv("host", { hostPath: { path: "/mnt/data/grafana" } }),
      pv("local", { local: { path: "/mnt/data/alertmanager" } }),
      pv("csi", {
        csi: { driver: "nfs.csi.k8s.io", volumeAttributes: { server: "198.51.100.10", share: "/mnt/data" } },
      }),
      pv("labelled", {}, { "app.kubernetes.io/managed-by": "powerstack" }),
      pv("other-server", { nfs: { server: "203.0.113.9", path: "/mnt/data/prometheus" } }),
      pv("lookalike", { hostPath: { path: "/mnt/database" } }),
      pv("elsewhere", { hostPath: { path: "/var/lib/rancher/k3s/storage/x" } }),
    ];
    expect(selectDataVolumes(items, params).volumes).toEqual([
      "nfs-ip",
      "nfs-name",
      "host",
      "local",
      "csi",
      "labelled",
    ]);
  });

  test("Retain first where the policy is not Retain (a missing policy means Delete)", () => {
    const items = [
      pv("a", { hostPath: { path: "/mnt/data/a" }, persistentVolumeReclaimPolicy: "Retain" }),
      pv("b", { hostPath: { path: "/mnt/data/b" }, persistentVolumeReclaimPolicy: "Delete" }),
      pv("c", { hostPath: { path: "/mnt/data/c" } }),
    ];
    expect(selectDataVolumes(items, params).retain).toEqual(["b", "c"]);
  });

  test("claims bound to our volumes (by volumeName or the volume's claimRef); no other claim", () => {
    const items: KubeItem[] = [
      pv("ours", {
        hostPath: { path: "/mnt/data/p" },
        claimRef: { namespace: "monitoring", name: "pending" },
      }),
      {
        kind: "PersistentVolumeClaim",
        metadata: { name: "bound", namespace: "monitoring" },
        spec: { volumeName: "ours" },
      },
      { kind: "PersistentVolumeClaim", metadata: { name: "pending", namespace: "monitoring" }, spec: {} },
      { kind: "PersistentVolumeClaim", metadata: { name: "pending", namespace: "apps" }, spec: {} },
    ];
    expect(selectDataVolumes(items, params).claims).toEqual([
      { namespace: "monitoring", name: "bound" },
      { namespace: "monitoring", name: "pending" },
    ]);
  });

  test("a StorageClass goes when only our volumes use it, when named, labelled, or an NFS provisioner's on our export", () => {
    const items: KubeItem[] = [
      pv("ours", { hostPath: { path: "/mnt/data/p" }, storageClassName: "nfs" }),
      pv("ours2", { hostPath: { path: "/mnt/data/q" }, storageClassName: "shared" }),
      pv("theirs", { hostPath: { path: "/srv/x" }, storageClassName: "shared" }),
      sc("nfs"),
      sc("shared"),
      sc("named"),
      sc("labelled", {
        metadata: { name: "labelled", labels: { "app.kubernetes.io/managed-by": "powerstack" } },
      }),
      sc("csi", { parameters: { server: "198.51.100.10", share: "/mnt/data" } }),
      sc("csi-other", { parameters: { server: "198.51.100.10", share: "/srv/other" } }),
      sc("local-path"),
    ];
    expect(selectDataVolumes(items, { ...params, storageClasses: ["named"] }).classes).toEqual([
      "nfs",
      "named",
      "labelled",
      "csi",
    ]);
  });
});

describe("empty directory", () => {
  test("removed only when an empty directory with nothing mounted on it", () => {
    const p = { path: "/mnt/data" };
    expect(emptyDirAbsent.plan({ dir: "empty" }, p).map((a) => emptyDirAbsent.describe(a, p))).toEqual([
      "remove the empty directory /mnt/data",
    ]);
    for (const dir of ["missing", "mounted", "not-empty"] as const)
      expect(emptyDirAbsent.plan({ dir }, p)).toEqual([]);
  });
});

describe("wiping the data filesystem (--purge-data)", () => {
  const p: FilesystemWipeParams = { device: "/dev/vdb", fstype: "btrfs", label: "powerstack-data" };
  const disk = (over: Partial<DiskSeen> = {}): DiskSeen => ({
    resolved: "/dev/vdb",
    isBlock: true,
    signature: { TYPE: "btrfs", LABEL: "powerstack-data", UUID: "u" },
    children: [],
    inUse: [],
    nonZeroBytes: 4096,
    ...over,
  });
  const plan = (seen: DiskSeen, params: FilesystemWipeParams = p) =>
    filesystemWipe.plan({ disk: seen }, params);
  const summaries = (seen: DiskSeen, params: FilesystemWipeParams = p) =>
    plan(seen, params).map((a) => filesystemWipe.describe(a, params));

  test("only powerstack's own filesystem, only once unmounted", () => {
    expect(summaries(disk())).toEqual([
      'WIPE the btrfs filesystem "powerstack-data" on /dev/vdb: Prometheus history and Grafana state are destroyed',
    ]);
    expect(plan(disk({ signature: { TYPE: "ext4", LABEL: "powerstack-data" } }), p)).toEqual([]);
    expect(plan(disk({ signature: { TYPE: "btrfs", LABEL: "someone-elses" } }), p)).toEqual([]);
    expect(plan(disk({ signature: {} }), p)).toEqual([]);
    expect(() => plan(disk({ inUse: ["/mnt/data"] }), p)).toThrow(
      /refusing to wipe \/dev\/vdb: it is in use \(\/mnt\/data\)/,
    );
    expect(() => plan(disk({ isBlock: false }), p)).toThrow(/not a block device/);
  });

  test("check mode: the unmount planned just before is taken into account, nothing else is", () => {
    const check = { ...p, unmountedBefore: "/mnt/data" };
    expect(summaries(disk({ inUse: ["/mnt/data"] }), check)[0]).toMatch(
      /^WIPE .* on \/dev\/vdb once \/mnt\/data is unmounted:/,
    );
    expect(() => plan(disk({ inUse: ["/mnt/data", "/srv"] }), check)).toThrow(/in use \(\/srv\)/);
  });

  test("the wipe checks again on the node (nothing mounted, still our filesystem), then wipefs and zeroes the first MiB", async () => {
    const host = new RecordingHost("ctl");
    const actions = plan(disk({ resolved: "/dev/loop7" }));
    await filesystemWipe.apply({ host, facts: {} as Facts, cache: new FactCache(host) }, actions, p);
    expect(host.commands()).toEqual([
      [
        "d='/dev/loop7'",
        `if findmnt -rn -S "$d" >/dev/null 2>&1 || grep -q "^$d " /proc/swaps; then echo "$d is in use (mounted or swap): not wiped" >&2; exit 1; fi`,
        `if [ "$(blkid -p -s TYPE -o value "$d")" != 'btrfs' ] || [ "$(blkid -p -s LABEL -o value "$d")" != 'powerstack-data' ]; then echo "$d no longer holds the btrfs filesystem of powerstack: not wiped" >&2; exit 1; fi`,
        'wipefs -a "$d"',
        'dd if=/dev/zero of="$d" bs=1M count=1 conv=fsync status=none',
      ].join("\n"),
    ]);
  });
});
