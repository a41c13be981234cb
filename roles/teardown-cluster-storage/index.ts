/**
 * teardown-cluster-storage (control node): the volumes on the data path (claims, PersistentVolumes, their
 * StorageClass), then the namespaces `up` made for monitoring and Kepler. The volumes' data stays on the
 * disk: each PV is set to Retain before its claim goes (src/modules/data-volumes-absent.ts). The class
 * cluster-storage makes is also named, so one that outlived its volumes (an interrupted run) still goes.
 * Skipped where K3s is not installed. K3s' own namespaces are never deleted, even when the inventory puts
 * monitoring or Kepler in one of them.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import type { Inventory } from "../../src/inventory/types.js";
import { k3sInstalled, WITHOUT_K3S } from "../../src/modules/cluster-read.js";
import { dataVolumesAbsent } from "../../src/modules/data-volumes-absent.js";
import { kubeObjectAbsent, SYSTEM_NAMESPACES } from "../../src/modules/kube-object-absent.js";
import { STORAGE_CLASS } from "../cluster-storage/volumes.js";

/** The namespaces of the monitoring stack and Kepler, each once, K3s' own left out. */
export function stackNamespaces(inventory: Inventory): string[] {
  const { kepler, monitoring } = inventory.cluster;
  return [...new Set([kepler.namespace, monitoring.namespace])].filter((n) => !SYSTEM_NAMESPACES.includes(n));
}

export const role: Role = {
  name: "teardown-cluster-storage",
  description:
    "PersistentVolumes on the data path with their claims and StorageClass (data kept), then the stack's namespaces",
  async tasks({ inventory, control, read }) {
    const installed = await read(k3sInstalled.of());
    const { dataPath } = inventory.cluster;
    const why = installed ? "" : WITHOUT_K3S;
    return {
      tasks: [
        task({
          name: `volumes on ${dataPath}${why}`,
          module: dataVolumesAbsent,
          params: {
            dataPath,
            servers: [...new Set([control.internalIp, control.name, control.externalIp])],
            // By name too: after an interrupted teardown the class may have outlived its volumes.
            storageClasses: [STORAGE_CLASS],
          },
          when: () => installed,
        }),
        ...stackNamespaces(inventory).map((ns) =>
          task({
            name: `namespace ${ns}${why}`,
            module: kubeObjectAbsent,
            params: { kind: "namespace", name: ns },
            when: () => installed,
          }),
        ),
      ],
    };
  },
};
