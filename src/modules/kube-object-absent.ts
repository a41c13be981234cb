/**
 * A named Kubernetes object that must not exist (a namespace, typically): deleted and waited for when
 * present. No K3s on the node means no object: nothing to do. The namespaces K3s itself lives in are
 * refused outright, whatever the inventory says.
 */
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { clusterRead, clusterUnreadable, KUBECTL, type ClusterRead } from "./cluster-read.js";

export interface KubeObjectAbsentParams {
  /** kubectl resource name: `namespace`, `storageclass`, `configmap`... */
  kind: string;
  name: string;
  /** For namespaced kinds. */
  namespace?: string;
  /** How long kubectl waits for the object to be gone (finalizers, pods shutting down); default 300 s. */
  timeoutSec?: number;
}

/** Namespaces Kubernetes or K3s cannot live without. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

const DEFAULT_TIMEOUT_SEC = 300;

const where = (p: KubeObjectAbsentParams) => (p.namespace ? ` -n ${shq(p.namespace)}` : "");
const label = (p: KubeObjectAbsentParams) => `${p.kind} ${p.namespace ? `${p.namespace}/` : ""}${p.name}`;

export function kubeDeleteCommand(p: KubeObjectAbsentParams): string {
  return `${KUBECTL} delete ${shq(p.kind)} ${shq(p.name)}${where(p)} --ignore-not-found --wait=true --timeout=${p.timeoutSec ?? DEFAULT_TIMEOUT_SEC}s`;
}

export const kubeObjectAbsent: Module<KubeObjectAbsentParams, { seen: ClusterRead }, { kind: "delete" }> = {
  name: "kube-object-absent",
  reads: (p) => ({
    seen: clusterRead.of({
      read: `${KUBECTL} get ${shq(p.kind)} ${shq(p.name)}${where(p)} -o name --ignore-not-found`,
    }),
  }),
  plan({ seen }, p) {
    if (p.kind === "namespace" && SYSTEM_NAMESPACES.includes(p.name)) {
      throw new PowerstackError(
        `refusing to delete namespace ${p.name}: Kubernetes and K3s need it`,
        undefined,
        "give monitoring and Kepler namespaces of their own in the inventory (cluster.monitoring.namespace, cluster.kepler.namespace)",
      );
    }
    if (!seen.installed) return [];
    if (seen.code !== 0) throw clusterUnreadable(`reading ${label(p)}`, seen);
    // `-o name` prints `<kind>/<name>`; anything else is a warning kubectl printed on stderr.
    const present = seen.output.split("\n").some((l) => l.trim().endsWith(`/${p.name}`));
    return present ? [{ kind: "delete" }] : [];
  },
  describe: (_a, p) => `delete ${label(p)}`,
  // A change in the cluster may change any read of it (objects, releases, volumes, nodes, Grafana's login).
  touches: () => "all",
  async apply({ host }, _actions, p) {
    await run(host, kubeDeleteCommand(p), { timeoutSec: (p.timeoutSec ?? DEFAULT_TIMEOUT_SEC) + 60 });
  },
};
