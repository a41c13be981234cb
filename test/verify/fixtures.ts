/**
 * Shared inputs of the verify tests: an inventory (one control node, two workers) and `kubectl get ... -o
 * json` documents shaped as K3s v1.31 prints them (only fields verify reads, plus enough context to be
 * recognisable), healthy and with the faults the checks must catch.
 */
import { parseInventory } from "../../src/inventory/load.js";
import type { Inventory } from "../../src/inventory/types.js";

export interface InventoryOptions {
  sshPort?: number;
  keyFile?: string;
  knownHostsFile?: string;
  dataPath?: string;
  grafanaPort?: number;
  /** `https://host:port` of the control node's BMC (user USERID, vault key bmc_password, self-signed). */
  ctlBmc?: string;
}

/** The nodes' SSH addresses: one loopback address each (one machine per SSH address and port). */
export const NODE_ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

export function inventoryYaml(o: InventoryOptions = {}) {
  const port = o.sshPort ?? 22;
  const bmc = o.ctlBmc
    ? `, bmc: { address: "${o.ctlBmc}", username: USERID, password_secret: bmc_password, insecure: true }`
    : "";
  return `
vault_file: vault.yaml
cluster:
  nfs_network: 198.51.100.0/24
  data_path: ${o.dataPath ?? "/mnt/data"}
  k3s: { version: v1.31.4+k3s1 }
  node_ports: { prometheus: 30090, grafana: ${o.grafanaPort ?? 30030}, alertmanager: 30093 }
  kepler: { flavour: current }
ssh:
  user: root
  known_hosts: strict
  connect_timeout: 3
  connect_retries: 1
${o.keyFile ? `  key_file: ${o.keyFile}\n` : ""}${o.knownHostsFile ? `  known_hosts_file: ${o.knownHostsFile}\n` : ""}nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.11, external_ip: 127.0.0.1, ssh_address: ${NODE_ADDRESSES[0]}, ssh_port: ${port}, storage_disk: /dev/vdb${bmc} }
  - { name: w1, role: worker, internal_ip: 198.51.100.12, external_ip: 192.0.2.12, ssh_address: ${NODE_ADDRESSES[1]}, ssh_port: ${port} }
  - { name: w2, role: worker, internal_ip: 198.51.100.13, external_ip: 192.0.2.13, ssh_address: ${NODE_ADDRESSES[2]}, ssh_port: ${port} }
`;
}

export function testInventory(file = "/tmp/powerstack-verify-test/inventory.yaml"): Inventory {
  return parseInventory(inventoryYaml(), file);
}

const ready = (status: "True" | "False" | "Unknown", reason: string, message = "") => ({
  type: "Ready",
  status,
  reason,
  message,
});

function node(
  name: string,
  internalIp: string,
  cond = ready("True", "KubeletReady", "kubelet is posting ready status"),
) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: { podCIDR: "10.42.0.0/24" },
    status: {
      addresses: [
        { type: "InternalIP", address: internalIp },
        { type: "Hostname", address: name },
      ],
      conditions: [{ type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" }, cond],
      nodeInfo: { kubeletVersion: "v1.31.4+k3s1", osImage: "Debian GNU/Linux 12 (bookworm)" },
    },
  };
}

const list = (items: unknown[]) =>
  JSON.stringify({ apiVersion: "v1", kind: "List", items, metadata: { resourceVersion: "" } });

export const NODES_HEALTHY = list([
  node("ctl", "198.51.100.11"),
  node("w1", "198.51.100.12"),
  node("w2", "198.51.100.13"),
]);
/** w1 registered on its external address (no node-ip: the default route's NIC), w2's kubelet stopped. */
export const NODES_BROKEN = list([
  node("ctl", "198.51.100.11"),
  node("w1", "192.0.2.12"),
  node("w2", "198.51.100.13", ready("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")),
]);

const running = (name: string, c = "main") => ({
  name,
  ready: true,
  restartCount: 0,
  state: { running: { startedAt: "2026-11-20T10:00:00Z" } },
  image: `${c}:latest`,
});

function pod(
  ns: string,
  name: string,
  phase: string,
  containers: unknown[],
  extra: Record<string, unknown> = {},
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, ...(extra.metadata as object) },
    spec: { nodeName: "ctl" },
    status: { phase, containerStatuses: containers, ...(extra.status as object) },
  };
}

const job = (name: string) => ({ metadata: { ownerReferences: [{ kind: "Job", name }] } });

const PODS_COMMON = [
  pod("kube-system", "coredns-ccb96694c-7x2lq", "Running", [running("coredns")]),
  pod("kube-system", "helm-install-traefik-crd-8xk2p", "Succeeded", [], job("helm-install-traefik-crd")),
  // A first attempt that failed while the API server settled; its job succeeded afterwards.
  pod("kube-system", "helm-install-traefik-7qv4d", "Failed", [], job("helm-install-traefik")),
  pod("kube-system", "helm-install-traefik-9c2mn", "Succeeded", [], job("helm-install-traefik")),
  pod("monitoring", "prometheus-kps-prometheus-0", "Running", [
    running("prometheus"),
    running("config-reloader"),
  ]),
  pod("monitoring", "kps-grafana-6d9f7c8b5-4hw2x", "Running", [running("grafana")]),
];

export const PODS_HEALTHY = list([
  ...PODS_COMMON,
  pod("kepler", "kepler-4k9xq", "Running", [running("kepler")]),
  pod("kepler", "kepler-8m2zt", "Running", [running("kepler")]),
]);
export const PODS_CRASHLOOP = list([
  ...PODS_COMMON,
  pod("kepler", "kepler-4k9xq", "Running", [running("kepler")]),
  pod("kepler", "kepler-8m2zt", "Running", [
    {
      name: "kepler",
      ready: false,
      restartCount: 7,
      state: {
        waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s restarting failed container" },
      },
    },
  ]),
]);

function pvc(name: string, phase: string, volumeName?: string) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "monitoring" },
    spec: { storageClassName: "powerstack-nfs", volumeName, resources: { requests: { storage: "10Gi" } } },
    status: { phase },
  };
}

function nfsPv(name: string, path: string, claim?: string) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      storageClassName: "powerstack-nfs",
      nfs: { server: "198.51.100.11", path },
      claimRef: claim ? { namespace: "monitoring", name: claim } : undefined,
    },
    status: { phase: claim ? "Bound" : "Available" },
  };
}

const PROM_CLAIM = "prometheus-kps-prometheus-db-prometheus-kps-prometheus-0";
const AM_CLAIM = "alertmanager-kps-alertmanager-db-alertmanager-kps-alertmanager-0";

export const PVCS_HEALTHY = list([
  pvc(PROM_CLAIM, "Bound", "powerstack-prometheus"),
  pvc("kps-grafana", "Bound", "powerstack-grafana"),
  pvc(AM_CLAIM, "Bound", "powerstack-alertmanager"),
]);
export const PVCS_UNBOUND = list([
  pvc(PROM_CLAIM, "Bound", "powerstack-prometheus"),
  pvc("kps-grafana", "Bound", "powerstack-grafana"),
  pvc(AM_CLAIM, "Pending"),
]);
export const PVS = list([
  nfsPv("powerstack-prometheus", "/mnt/data/prometheus", PROM_CLAIM),
  nfsPv("powerstack-grafana", "/mnt/data/grafana", "kps-grafana"),
  nfsPv("powerstack-alertmanager", "/mnt/data/alertmanager", AM_CLAIM),
]);
export const PVS_UNBOUND = list([
  nfsPv("powerstack-prometheus", "/mnt/data/prometheus", PROM_CLAIM),
  nfsPv("powerstack-grafana", "/mnt/data/grafana", "kps-grafana"),
  // Its size is smaller than the claim asks: the claim stays Pending.
  nfsPv("powerstack-alertmanager", "/mnt/data/alertmanager"),
]);
/** The Grafana claim bound to K3s' local-path provisioner: data on one node's disk. */
export const PVS_LOCAL_PATH = list([
  nfsPv("powerstack-prometheus", "/mnt/data/prometheus", PROM_CLAIM),
  {
    metadata: { name: "powerstack-grafana" },
    spec: {
      storageClassName: "local-path",
      hostPath: { path: "/var/lib/rancher/k3s/storage/pvc-1_monitoring_kps-grafana" },
    },
    status: { phase: "Bound" },
  },
  nfsPv("powerstack-alertmanager", "/mnt/data/alertmanager", AM_CLAIM),
]);
