/**
 * rancher (control node): the optional Rancher, off by default (`cluster.rancher.enabled`): cert-manager
 * by Helm with its CRDs, then Rancher in cattle-system, its first admin password from the vault as a
 * Kubernetes Secret applied over stdin. Both releases go through helm-release: installed or upgraded
 * only when the chart version or values change, air-gapped from the artifacts directory. Disabled, the
 * role has no task at all, so the play runs exactly as without it.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import type { Inventory } from "../../src/inventory/types.js";
import type { HelmReleaseParams } from "../../src/modules/helm-release.js";
import { helmRelease } from "../../src/modules/helm-release.js";
import { kubeApply, namespaceObject, secretObject, type KubeObject } from "../../src/modules/kube-apply.js";
import {
  BOOTSTRAP_SECRET,
  BOOTSTRAP_SECRET_KEY,
  certManagerChart,
  CERT_MANAGER_NAMESPACE,
  CERT_MANAGER_RELEASE,
  CERT_MANAGER_VERSION,
  rancherChart,
  RANCHER_NAMESPACE,
  RANCHER_RELEASE,
} from "./release.js";
import { certManagerValues, rancherValues } from "./values.js";

/** cert-manager's three Deployments, then its post-install API check (a hook Job Helm waits for). */
export const CERT_MANAGER_TIMEOUT_SEC = 600;
/** Rancher's first start migrates its CRDs and installs its webhook: its startup probe allows minutes. */
export const RANCHER_TIMEOUT_SEC = 900;

export function certManagerRelease(inventory: Inventory): HelmReleaseParams {
  return {
    release: CERT_MANAGER_RELEASE,
    namespace: CERT_MANAGER_NAMESPACE,
    chart: certManagerChart(inventory),
    version: CERT_MANAGER_VERSION,
    values: certManagerValues(),
    timeoutSec: CERT_MANAGER_TIMEOUT_SEC,
  };
}

export function rancherRelease(inventory: Inventory): HelmReleaseParams {
  return {
    release: RANCHER_RELEASE,
    namespace: RANCHER_NAMESPACE,
    chart: rancherChart(inventory),
    version: inventory.cluster.rancher.version,
    values: rancherValues(inventory),
    timeoutSec: RANCHER_TIMEOUT_SEC,
  };
}

/**
 * cattle-system and the bootstrap Secret. Rancher reads the password once, when it creates the `admin`
 * user; a later change in the vault updates the Secret but not the admin's password (change that in
 * Rancher's UI).
 */
export const rancherObjects = (inventory: Inventory, secret: (key: string) => string): KubeObject[] => [
  namespaceObject(RANCHER_NAMESPACE),
  secretObject(RANCHER_NAMESPACE, BOOTSTRAP_SECRET, {
    [BOOTSTRAP_SECRET_KEY]: secret(inventory.cluster.rancher.bootstrapPasswordSecret),
  }),
];

export const role: Role = {
  name: "rancher",
  description:
    "optional Rancher (cluster.rancher.enabled): cert-manager, then Rancher, by Helm at pinned versions",
  tasks: (ctx) => {
    const { inventory } = ctx;
    const r = inventory.cluster.rancher;
    if (!r.enabled) return { tasks: [] };
    return {
      tasks: [
        task({
          name: `cert-manager ${CERT_MANAGER_VERSION} (with its CRDs)`,
          module: helmRelease,
          params: certManagerRelease(inventory),
        }),
        task({
          name: `namespace ${RANCHER_NAMESPACE} and Rancher's bootstrap password`,
          module: kubeApply,
          params: { objects: rancherObjects(inventory, ctx.secret) },
        }),
        task({
          name: `Rancher ${r.version} at ${r.hostname}`,
          module: helmRelease,
          params: rancherRelease(inventory),
        }),
      ],
    };
  },
};
