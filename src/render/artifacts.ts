/**
 * Everything `up` sends to the cluster, built WITHOUT connecting to anything: per node the K3s config, per
 * release the chart, version, values and post-renderer, and every manifest powerstack applies itself. The
 * roles build the same things through the same functions (roles/<role>/), so what `powerstack render`
 * writes is what `up` would send, byte for byte, except secrets.
 *
 * Secrets are `<vault:KEY>` placeholders, never values: the renderer is given a vault that answers every
 * key with its placeholder. The K3s token that `up` may generate on a first run appears the same way.
 */
import { chartRef, type HelmReleaseParams } from "../modules/helm-release.js";
import type { KubeObject } from "../modules/kube-apply.js";
import type { Inventory } from "../inventory/types.js";
import { clusterStorageObjects } from "../../roles/cluster-storage/index.js";
import { k3sConfig } from "../../roles/k3s-server/config.js";
import { keplerArtifacts } from "../../roles/kepler/index.js";
import { dashboardConfigMaps } from "../../roles/monitoring/dashboards.js";
import { monitoringObjects, monitoringRelease } from "../../roles/monitoring/index.js";
import { certManagerRelease, rancherObjects, rancherRelease } from "../../roles/rancher/index.js";

export const placeholder = (key: string) => `<vault:${key}>`;

export interface RenderedNode {
  name: string;
  role: "control" | "worker";
  k3sConfig: string;
}

export interface RenderedRelease {
  name: string;
  namespace: string;
  /** As `up` installs it: `repo/chart`, an OCI reference, or (air-gapped) the chart's `.tgz`. */
  chart: string;
  version: string;
  values: string;
  postRender?: { script: string; patch: string };
}

export interface RenderedManifest {
  /** File name under `manifests/`, e.g. `cluster-storage.yaml`. */
  name: string;
  /** The role that applies it, in `up`'s order. */
  role: string;
  objects: KubeObject[];
}

export interface Rendered {
  nodes: RenderedNode[];
  releases: RenderedRelease[];
  manifests: RenderedManifest[];
}

const release = (p: HelmReleaseParams, postRender?: RenderedRelease["postRender"]): RenderedRelease => ({
  name: p.release,
  namespace: p.namespace,
  // Air-gapped: the operator's `<artifacts_dir>/<chart>-<version>.tgz`, which `up` uploads and installs.
  chart: p.chart.kind === "archive" ? p.chart.local : chartRef(p.chart),
  version: p.version,
  values: p.values,
  ...(postRender ? { postRender } : {}),
});

export function renderArtifacts(inventory: Inventory): Rendered {
  const control = inventory.nodes.find((n) => n.role === "control")!;
  const token = placeholder(inventory.cluster.k3s.tokenSecret);
  const kepler = keplerArtifacts(inventory, placeholder);
  const rancher = inventory.cluster.rancher.enabled;
  return {
    nodes: inventory.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      k3sConfig: k3sConfig(n.role === "control" ? "server" : "agent", inventory, n, control, token),
    })),
    releases: [
      release(monitoringRelease(inventory)),
      release(kepler.release, kepler.postRender),
      // Rancher only when the inventory enables it, in the order the rancher role installs them.
      ...(rancher ? [release(certManagerRelease(inventory)), release(rancherRelease(inventory))] : []),
    ],
    manifests: [
      {
        name: "cluster-storage.yaml",
        role: "cluster-storage",
        objects: clusterStorageObjects(inventory, control),
      },
      { name: "monitoring.yaml", role: "monitoring", objects: monitoringObjects(inventory, placeholder) },
      { name: "dashboards.yaml", role: "monitoring", objects: dashboardConfigMaps(inventory) },
      { name: "kepler.yaml", role: "kepler", objects: kepler.objects },
      ...(rancher
        ? [{ name: "rancher.yaml", role: "rancher", objects: rancherObjects(inventory, placeholder) }]
        : []),
    ],
  };
}
