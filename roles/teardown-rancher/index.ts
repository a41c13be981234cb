/**
 * teardown-rancher (control node): what the rancher role made, in reverse: the Rancher release (its chart's
 * post-delete hook uninstalls the Helm apps Rancher itself installed, fleet and its webhook), then
 * cert-manager, then the two namespaces: cattle-system's goes with the bootstrap-password Secret in it
 * (a credential, which the chart marks `keep` so the uninstall leaves it). CRDs stay, as for every release (Helm never deletes them; cert-manager's are
 * kept by its own `crds.keep`). Nothing at all when `cluster.rancher.enabled` is false, and skipped
 * where K3s is not installed. Runs before teardown-helm: Rancher watches the whole cluster.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import type { Inventory } from "../../src/inventory/types.js";
import { k3sInstalled, WITHOUT_K3S } from "../../src/modules/cluster-read.js";
import { helmReleaseAbsent } from "../../src/modules/helm-release-absent.js";
import { kubeObjectAbsent } from "../../src/modules/kube-object-absent.js";
import {
  CERT_MANAGER_NAMESPACE,
  CERT_MANAGER_RELEASE,
  RANCHER_NAMESPACE,
  RANCHER_RELEASE,
} from "../rancher/release.js";

/** The post-delete hook waits up to 120 s per Rancher-installed app (chart value postDelete.timeout). */
export const RANCHER_UNINSTALL_TIMEOUT_SEC = 600;

/** In uninstall order. */
export const rancherReleases = () => [
  { release: RANCHER_RELEASE, namespace: RANCHER_NAMESPACE, timeoutSec: RANCHER_UNINSTALL_TIMEOUT_SEC },
  { release: CERT_MANAGER_RELEASE, namespace: CERT_MANAGER_NAMESPACE },
];

const enabled = (inventory: Inventory) => inventory.cluster.rancher.enabled;

export const role: Role = {
  name: "teardown-rancher",
  description: "uninstall Rancher and cert-manager (only when cluster.rancher.enabled); skipped without K3s",
  async tasks({ inventory, read }) {
    if (!enabled(inventory)) return { tasks: [] };
    const installed = await read(k3sInstalled.of());
    const why = installed ? "" : WITHOUT_K3S;
    return {
      tasks: [
        ...rancherReleases().map((r) =>
          task({
            name: `Helm release ${r.release} (namespace ${r.namespace})${why}`,
            module: helmReleaseAbsent,
            params: r,
            when: () => installed,
          }),
        ),
        ...[RANCHER_NAMESPACE, CERT_MANAGER_NAMESPACE].map((ns) =>
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
