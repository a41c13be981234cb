/**
 * The cluster's view of the data path: one NFS PersistentVolume per monitoring service, each reserved for
 * the claim that will use it. Built from the inventory into the context of templates/storage.yaml.hbs.
 */
import type { Inventory, MonitoringService, NodeSpec } from "../../src/inventory/types.js";
import { MONITORING_SERVICES } from "../../src/inventory/types.js";
import { ALERTMANAGER_CLAIM, GRAFANA_CLAIM, PROMETHEUS_CLAIM } from "../monitoring/release.js";

export const STORAGE_CLASS = "powerstack-nfs";
/** Label on each PV; the Prometheus/Alertmanager claim templates select their volume by it. */
export const VOLUME_LABEL = "powerstack.io/volume";
export const pvName = (svc: MonitoringService) => `powerstack-${svc}`;

export const CLAIMS: Record<MonitoringService, string> = {
  prometheus: PROMETHEUS_CLAIM,
  alertmanager: ALERTMANAGER_CLAIM,
  grafana: GRAFANA_CLAIM,
};

export interface VolumeContext {
  service: MonitoringService;
  pvName: string;
  volumeLabel: string;
  size: string;
  storageClass: string;
  nfsServer: string;
  nfsPath: string;
  claimNamespace: string;
  claimName: string;
}

export interface StorageContext {
  storageClass: string;
  volumes: VolumeContext[];
  grafanaClaim: {
    name: string;
    namespace: string;
    storageClass: string;
    volumeName: string;
    request: string;
  };
}

export function storageContext(inventory: Inventory, control: NodeSpec): StorageContext {
  const { dataPath, volumes, monitoring } = inventory.cluster;
  return {
    storageClass: STORAGE_CLASS,
    volumes: MONITORING_SERVICES.map((svc) => ({
      service: svc,
      pvName: pvName(svc),
      volumeLabel: VOLUME_LABEL,
      size: volumes[svc].size,
      storageClass: STORAGE_CLASS,
      // The NFS server is the control node on the internal network: the export is restricted to it.
      nfsServer: control.internalIp,
      nfsPath: `${dataPath.replace(/\/+$/, "")}/${svc}`,
      claimNamespace: monitoring.namespace,
      claimName: CLAIMS[svc],
    })),
    grafanaClaim: {
      name: GRAFANA_CLAIM,
      namespace: monitoring.namespace,
      storageClass: STORAGE_CLASS,
      volumeName: pvName("grafana"),
      request: volumes.grafana.claim,
    },
  };
}
