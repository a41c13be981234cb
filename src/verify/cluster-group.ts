/**
 * The cluster checks through the Cluster boundary (kubectl on the control node): four reads started at
 * once (nodes, pods, claims, volumes), each check deciding from the documents. `k8s.api` is the read of
 * the nodes: when kubectl cannot answer at all (K3s missing or down, control node unreachable), that one
 * line says why and the checks that need the API are skipped.
 */
import type { Cluster } from "../cluster/cluster.js";
import type { Inventory } from "../inventory/types.js";
import { CHECKS, pass, skip, type CheckResult } from "./check.js";
import { runCheck } from "./deadline.js";
import { checkNodeReady } from "./k8s-nodes.js";
import { checkPods } from "./k8s-pods.js";
import { checkPvcs } from "./k8s-volumes.js";
import type { KubeNode, KubePod, KubePv, KubePvc } from "../cluster/kube-objects.js";
import { kubectlList } from "./kubectl-read.js";
import { checkRancherPing, rancherPodNamespaces } from "./rancher-ping.js";

export interface ClusterGroupOptions {
  cluster: () => Promise<Cluster>;
  deadlineMs: number;
}

/** The namespaces whose pods must all run, and what deploys each (the fix for an empty one). */
export function podNamespaces(inv: Inventory): Array<{ namespace: string; deployedBy: string }> {
  return [
    {
      namespace: "kube-system",
      deployedBy:
        "K3s runs its system pods (CoreDNS, metrics-server) here: check the server, `journalctl -u k3s -n 50` on the control node",
    },
    {
      namespace: inv.cluster.monitoring.namespace,
      deployedBy: "deploy the monitoring stack (kube-prometheus-stack) with `powerstack up`",
    },
    { namespace: inv.cluster.kepler.namespace, deployedBy: "deploy Kepler with `powerstack up`" },
    ...rancherPodNamespaces(inv),
  ];
}

export async function checkClusterGroup(inv: Inventory, o: ClusterGroupOptions): Promise<CheckResult[]> {
  const control = inv.nodes.find((n) => n.role === "control")!;
  const monitoring = inv.cluster.monitoring.namespace;
  const connected = o.cluster();
  const read = <T>(args: string[]) => connected.then((c) => kubectlList<T>(c, args, control.name));
  const nodes = read<KubeNode>(["get", "nodes", "-o", "json"]);
  const pods = read<KubePod>(["get", "pods", "--all-namespaces", "-o", "json"]);
  const pvcs = read<KubePvc>(["get", "pvc", "-n", monitoring, "-o", "json"]);
  const pvs = read<KubePv>(["get", "pv", "-o", "json"]);
  for (const p of [nodes, pods, pvcs, pvs]) p.catch(() => undefined); // reported by the checks below

  const fix = `run \`k3s kubectl get nodes\` on ${control.name} to see the error`;
  const api = await runCheck(CHECKS.k8sApi, control.name, o.deadlineMs, fix, async () =>
    pass(`kubectl on ${control.name} answers: ${(await nodes).length} nodes registered`),
  );
  const results: CheckResult[] = [api];
  const namespaces = podNamespaces(inv);
  if (api.status !== "pass") {
    const why = skip(`not checked: the Kubernetes API cannot be read (${CHECKS.k8sApi})`);
    for (const n of inv.nodes) results.push({ name: CHECKS.nodeReady, scope: n.name, ...why });
    for (const ns of namespaces) results.push({ name: CHECKS.pods, scope: ns.namespace, ...why });
    results.push({ name: CHECKS.pvcs, scope: monitoring, ...why });
    if (inv.cluster.rancher.enabled) results.push({ name: CHECKS.rancher, scope: "rancher", ...why });
    return results;
  }
  const version = inv.cluster.k3s.version;
  const rest = await Promise.all([
    ...inv.nodes.map((n) =>
      runCheck(CHECKS.nodeReady, n.name, o.deadlineMs, fix, async () =>
        checkNodeReady(await nodes, n, version),
      ),
    ),
    ...namespaces.map((ns) =>
      runCheck(CHECKS.pods, ns.namespace, o.deadlineMs, fix, async () =>
        checkPods(await pods, ns.namespace, ns.deployedBy),
      ),
    ),
    runCheck(CHECKS.pvcs, monitoring, o.deadlineMs, fix, async () =>
      checkPvcs(await pvcs, await pvs, monitoring, inv.cluster.dataPath, control),
    ),
    ...(inv.cluster.rancher.enabled
      ? [
          runCheck(CHECKS.rancher, "rancher", o.deadlineMs, fix, async () =>
            checkRancherPing(await connected, inv, control.name),
          ),
        ]
      : []),
  ]);
  return [...results, ...rest];
}
