/** The Kepler release and the names derived from it, for both Kepler lines. */
import type { Inventory, KeplerFlavour } from "../../src/inventory/types.js";
import { pinnedChart, type ChartSource, type OnlineChart } from "../../src/modules/chart-source.js";

export const KEPLER_RELEASE = "kepler";

/** Neither line ships CRDs (its ServiceMonitor uses the Prometheus operator's). */
export const KEPLER_CHARTS: Record<KeplerFlavour, OnlineChart> = {
  current: { kind: "oci", url: "oci://quay.io/sustainable_computing_io/charts/kepler" },
  legacy: {
    kind: "repo",
    repoName: "kepler",
    repoUrl: "https://sustainable-computing-io.github.io/kepler-helm-chart",
    chart: "kepler",
  },
};

/** The chart `up` installs: online per line, or air-gapped `<artifacts_dir>/kepler-<version>.tgz`. */
export function keplerChart(inventory: Inventory): ChartSource {
  const { flavour, chartVersion } = inventory.cluster.kepler;
  return pinnedChart(KEPLER_CHARTS[flavour], chartVersion, inventory.cluster.k3s);
}

/**
 * The DaemonSet: `kepler.fullname` in the current chart (the release name, as it contains "kepler"),
 * `kepler.name` (the chart name) in the legacy one; both are "kepler" with this release name.
 */
export const KEPLER_DAEMONSET = "kepler";

/** The Secret with the Redfish credentials (applied by powerstack, never rendered by the chart). */
export const REDFISH_SECRET = "kepler-redfish";
export const REDFISH_KEY = { current: "redfish.yaml", legacy: "redfish.csv" } as const;

/**
 * Current line: the Secret is mounted as a directory of its own, and `configFile` points into it. The chart
 * mounts its ConfigMap at /etc/kepler (read-only); a file mounted at /etc/kepler/redfish.yaml would need a
 * mount point created inside that read-only volume, which the container runtime cannot do.
 */
export const REDFISH_MOUNT_DIR = "/etc/kepler-redfish";
export const REDFISH_CONFIG_FILE = `${REDFISH_MOUNT_DIR}/${REDFISH_KEY.current}`;

/** The post-renderer's files on the control node: no credential in either. */
export const POST_RENDER_DIR = "/var/lib/powerstack/helm/kepler";
export const POST_RENDER_SCRIPT = `${POST_RENDER_DIR}/post-render.sh`;
export const POST_RENDER_PATCH = `${POST_RENDER_DIR}/patch.yaml`;
