/** The Kepler release and the names derived from it, for both Kepler lines. */
import type { KeplerFlavour } from "../../src/inventory/types.js";
import type { ChartSource } from "../../src/modules/helm-release.js";

export const KEPLER_RELEASE = "kepler";

export const KEPLER_CHARTS: Record<KeplerFlavour, ChartSource> = {
  current: { kind: "oci", url: "oci://quay.io/sustainable_computing_io/charts/kepler" },
  legacy: {
    kind: "repo",
    repoName: "kepler",
    repoUrl: "https://sustainable-computing-io.github.io/kepler-helm-chart",
    chart: "kepler",
  },
};

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
