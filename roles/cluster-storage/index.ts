/**
 * cluster-storage (control node): the NFS share as Kubernetes storage. A StorageClass without a
 * provisioner, one PersistentVolume per service (Prometheus, Grafana, Alertmanager) in its directory of
 * the data path, each reserved for its claim; Retain everywhere, so a reinstall finds the data again.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import type { Inventory, MonitoringService, NodeSpec } from "../../src/inventory/types.js";
import { file } from "../../src/modules/file.js";
import { kubeApply, namespaceObject, parseManifests, type KubeObject } from "../../src/modules/kube-apply.js";
import { renderTemplate } from "../../src/templates/render.js";
import { OPERATOR_SUBPATH } from "../monitoring/release.js";
import { SERVICE_OWNERS } from "../storage/index.js";
import { storageContext } from "./volumes.js";

/** The StorageClass, the PersistentVolumes and Grafana's claim (with the namespace the claim lives in). */
export function clusterStorageObjects(inventory: Inventory, control: NodeSpec): KubeObject[] {
  return [
    // Grafana's claim lives in the monitoring namespace, which may not exist yet.
    namespaceObject(inventory.cluster.monitoring.namespace),
    ...parseManifests(
      renderTemplate("storage.yaml.hbs", storageContext(inventory, control)),
      "storage.yaml.hbs",
    ),
  ];
}

export const role: Role = {
  name: "cluster-storage",
  description:
    "NFS StorageClass and one retained PersistentVolume per monitoring service, sizes from the inventory",
  tasks: ({ inventory, control }) => {
    const { dataPath } = inventory.cluster;
    const objects = clusterStorageObjects(inventory, control);
    return {
      tasks: [
        // The operator mounts the Prometheus and Alertmanager volumes with a subPath; a subPath directory
        // kubelet creates itself is root-owned, where the non-root pods (uid 1000) cannot write. Made here,
        // on the NFS server's own disk, with the owner the storage role gives their parent.
        ...(Object.entries(OPERATOR_SUBPATH) as Array<[MonitoringService, string]>).map(([svc, sub]) =>
          task({
            name: `${dataPath}/${svc}/${sub}`,
            module: file,
            params: {
              path: `${dataPath}/${svc}/${sub}`,
              state: "directory" as const,
              mode: "0775",
              ...SERVICE_OWNERS[svc],
            },
          }),
        ),
        task({
          name: "StorageClass, PersistentVolumes and Grafana's claim",
          module: kubeApply,
          params: { objects },
        }),
      ],
    };
  },
};
