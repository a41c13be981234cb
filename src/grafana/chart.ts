/**
 * What the Grafana chart (grafana-community/grafana 12.11.1, bundled by kube-prometheus-stack 88.5.3,
 * appVersion 13.2.0) and the official image `docker.io/grafana/grafana` put where: the names the reset
 * of the admin password needs. Checked against the real `helm template` of the pinned chart in
 * test/monitoring/grafana-admin.boundary.test.ts.
 */

/** The container that runs Grafana in the chart's Deployment (beside the dashboard/datasource sidecars). */
export const GRAFANA_CONTAINER = "grafana";

/**
 * `grafana.fullname` (charts/grafana/templates/_helpers.tpl) without fullnameOverride/nameOverride, which
 * powerstack does not set: the release name when it contains `grafana`, else `<release>-grafana`, cut to
 * 63 characters. The Deployment carries that name.
 */
export function grafanaFullname(release: string): string {
  const name = release.includes("grafana") ? release : `${release}-grafana`;
  return name.slice(0, 63).replace(/-+$/, "");
}

/**
 * The image's WORKDIR and GF_PATHS_HOME. `grafana cli` defaults its home path to the working directory
 * and reads neither GF_PATHS_HOME nor GF_PATHS_CONFIG (pkg/cmd/grafana-cli/commands/cli.go: plain flags),
 * while the server is started with both (packaging/docker/run.sh): passing them makes the CLI open the
 * database the server uses whatever directory `kubectl exec` starts in.
 */
export const GRAFANA_HOME = "/usr/share/grafana";
/** Where the chart mounts its grafana.ini (subPath of the `<fullname>` ConfigMap); GF_PATHS_CONFIG of the image. */
export const GRAFANA_CONFIG = "/etc/grafana/grafana.ini";
