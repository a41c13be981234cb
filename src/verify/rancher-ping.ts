/**
 * Rancher answers: `GET /ping` (Rancher's health handler, "pong"; rancher pkg/api/steve/health) through the
 * Kubernetes API server's service proxy, kubectl on the control node. Through the cluster rather than at
 * `https://<hostname>`: the host name may not resolve on the operator's machine and the Ingress
 * certificate is signed by Rancher's own CA, neither of which says whether Rancher runs. That the Ingress
 * is served is Traefik's part, checked by the pods of kube-system.
 */
import type { Cluster } from "../cluster/cluster.js";
import type { Inventory } from "../inventory/types.js";
import { CERT_MANAGER_NAMESPACE, RANCHER_NAMESPACE, RANCHER_SERVICE } from "../../roles/rancher/release.js";
import { fail, oneLine, pass, type Verdict } from "./check.js";
import { kubectlFailure, KUBECTL_TIMEOUT_SEC } from "./kubectl-read.js";

/** The Service's `http` port (80; the chart's `https-internal` is Rancher's own TLS, for agents). */
export const RANCHER_PING_PATH = `/api/v1/namespaces/${RANCHER_NAMESPACE}/services/http:${RANCHER_SERVICE}:80/proxy/ping`;

export async function checkRancherPing(cluster: Cluster, inv: Inventory, control: string): Promise<Verdict> {
  const r = await cluster.kubectl(["get", "--raw", RANCHER_PING_PATH], { timeoutSec: KUBECTL_TIMEOUT_SEC });
  const host = inv.cluster.rancher.hostname;
  if (r.code === 0 && r.stdout.trim() === "pong")
    return pass(`Rancher answers /ping in ${RANCHER_NAMESPACE} (served at https://${host})`);
  const output = oneLine(r.stderr || r.stdout).slice(0, 300);
  const look = `\`k3s kubectl -n ${RANCHER_NAMESPACE} get pods\` and \`k3s kubectl -n ${RANCHER_NAMESPACE} logs deploy/${RANCHER_SERVICE}\` on ${control}`;
  if (r.code === 0)
    return fail(`Rancher's /ping answered \`${output || "(nothing)"}\`, not \`pong\``, `look at ${look}`);
  // The proxy's own errors: no Service (not installed), no ready pod behind it (starting or crashing).
  if (/NotFound|not found/.test(output))
    return fail(
      `no Rancher Service ${RANCHER_NAMESPACE}/${RANCHER_SERVICE}: ${output}`,
      "run `powerstack up` (cluster.rancher.enabled installs cert-manager and Rancher)",
    );
  if (/no endpoints available|ServiceUnavailable|503/.test(output))
    return fail(
      `Rancher has no ready pod behind ${RANCHER_NAMESPACE}/${RANCHER_SERVICE}: ${output}`,
      `a first start takes minutes; otherwise look at ${look}`,
    );
  const err = kubectlFailure(`kubectl get --raw ${RANCHER_PING_PATH}`, r.code, output, control);
  return fail(err.message, err.fix ?? `look at ${look}`);
}

/** With Rancher enabled, its namespaces join those whose pods must all run. */
export function rancherPodNamespaces(inv: Inventory): Array<{ namespace: string; deployedBy: string }> {
  if (!inv.cluster.rancher.enabled) return [];
  return [
    {
      namespace: CERT_MANAGER_NAMESPACE,
      deployedBy: "deploy cert-manager with `powerstack up` (cluster.rancher)",
    },
    { namespace: RANCHER_NAMESPACE, deployedBy: "deploy Rancher with `powerstack up` (cluster.rancher)" },
  ];
}
