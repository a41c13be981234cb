/**
 * BOUNDARY tests of the cluster-storage role: the StorageClass, PersistentVolumes and Grafana's claim it
 * applies (no cluster here: the manifests are checked field by field), and the subPath directories it
 * makes on the NFS server for the operator's non-root pods.
 */
import { describe, expect, test } from "vitest";
import { role } from "../../roles/cluster-storage/index.js";
import { ALERTMANAGER_CLAIM, PROMETHEUS_CLAIM } from "../../roles/monitoring/release.js";
import type { KubeApplyParams, KubeObject } from "../../src/modules/kube-apply.js";
import { inventory, roleContext } from "./fixtures.js";

async function objects(inv = inventory()): Promise<KubeObject[]> {
  const { tasks } = await role.tasks(roleContext(inv));
  return (tasks.find((t) => t.module.name === "kube-apply")!.params as KubeApplyParams).objects;
}
const find = (objs: KubeObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name)!;

describe("cluster storage manifests (boundary)", () => {
  test("StorageClass: no provisioner, Retain, Immediate binding", async () => {
    expect(find(await objects(), "StorageClass", "powerstack-nfs")).toEqual({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "powerstack-nfs", labels: { "app.kubernetes.io/managed-by": "powerstack" } },
      provisioner: "kubernetes.io/no-provisioner",
      reclaimPolicy: "Retain",
      volumeBindingMode: "Immediate",
    });
  });

  test("one NFS volume per service: control node's internal IP, data path/<svc>, inventory size, Retain, reserved for its claim", async () => {
    const objs = await objects();
    const want = {
      prometheus: { size: "60Gi", claim: PROMETHEUS_CLAIM },
      grafana: { size: "8Gi", claim: "powerstack-grafana" },
      alertmanager: { size: "4Gi", claim: ALERTMANAGER_CLAIM },
    };
    for (const [svc, w] of Object.entries(want)) {
      expect(find(objs, "PersistentVolume", `powerstack-${svc}`)).toEqual({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: {
          name: `powerstack-${svc}`,
          labels: { "app.kubernetes.io/managed-by": "powerstack", "powerstack.io/volume": svc },
        },
        spec: {
          capacity: { storage: w.size },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "powerstack-nfs",
          nfs: { server: "198.51.100.10", path: `/mnt/data/${svc}` },
          claimRef: {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: "monitoring",
            name: w.claim,
          },
        },
      });
    }
    // The operator's claim names, derived from the release (prometheus-operator naming).
    expect(PROMETHEUS_CLAIM).toBe(
      "prometheus-kube-prometheus-stack-prometheus-db-prometheus-kube-prometheus-stack-prometheus-0",
    );
    expect(ALERTMANAGER_CLAIM).toBe(
      "alertmanager-kube-prometheus-stack-alertmanager-db-alertmanager-kube-prometheus-stack-alertmanager-0",
    );
  });

  test("Grafana's claim: requests the inventory's claim size, bound by name to its volume; namespace first", async () => {
    const objs = await objects(inventory({ clusterExtra: "" }));
    expect(objs[0]).toMatchObject({ kind: "Namespace", metadata: { name: "monitoring" } });
    expect(find(objs, "PersistentVolumeClaim", "powerstack-grafana")).toEqual({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: "powerstack-grafana",
        namespace: "monitoring",
        labels: { "app.kubernetes.io/managed-by": "powerstack" },
      },
      spec: {
        storageClassName: "powerstack-nfs",
        accessModes: ["ReadWriteOnce"],
        volumeName: "powerstack-grafana",
        resources: { requests: { storage: "8Gi" } }, // claim defaults to the volume size
      },
    });
  });

  test("another data path and namespace flow through", async () => {
    const inv = inventory({ monitoringExtra: "    namespace: observability\n" });
    inv.cluster.dataPath = "/srv/powerstack/";
    const pv = find(await objects(inv), "PersistentVolume", "powerstack-prometheus");
    expect((pv.spec as any).nfs.path).toBe("/srv/powerstack/prometheus");
    expect((pv.spec as any).claimRef.namespace).toBe("observability");
  });

  test("subPath directories owned by the pods' uid:gid (a kubelet-made one would be root's)", async () => {
    const { tasks } = await role.tasks(roleContext(inventory()));
    expect(tasks.filter((t) => t.module.name === "file").map((t) => t.params)).toEqual([
      {
        path: "/mnt/data/prometheus/prometheus-db",
        state: "directory",
        mode: "0775",
        owner: "1000",
        group: "2000",
      },
      {
        path: "/mnt/data/alertmanager/alertmanager-db",
        state: "directory",
        mode: "0775",
        owner: "1000",
        group: "2000",
      },
    ]);
  });
});
