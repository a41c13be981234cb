/**
 * The two releases of the optional Rancher: cert-manager (Rancher's chart asks it for the Ingress
 * certificate, signed by a CA of Rancher's own) and Rancher itself, each at a pinned, tested chart
 * version (vendor/charts/README.md: where the vendored copies come from).
 */
import type { Inventory } from "../../src/inventory/types.js";
import { DEFAULTS } from "../../src/inventory/schema.js";
import { pinnedChart, type ChartSource, type OnlineChart } from "../../src/modules/chart-source.js";

export const CERT_MANAGER_RELEASE = "cert-manager";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
export const CERT_MANAGER_VERSION = DEFAULTS.certManagerVersion;

/**
 * The jetstack repository, as Rancher's install guide uses it. Its CRDs are templates of the chart itself
 * (`crds.enabled`), not a `crds/` directory: Helm installs AND upgrades them with the release, and
 * `crds.keep` (the chart's default) leaves them when the release is uninstalled. So no `crds: true` here:
 * `helm show crds` prints nothing for this chart.
 */
export const CERT_MANAGER_CHART: OnlineChart = {
  kind: "repo",
  repoName: "jetstack",
  repoUrl: "https://charts.jetstack.io",
  chart: "cert-manager",
};

export const RANCHER_RELEASE = "rancher";
/** Rancher only runs in this namespace: its chart and its own controllers expect it. */
export const RANCHER_NAMESPACE = "cattle-system";

/**
 * The repository Rancher's release scripts publish a release tag's chart to (scripts/version: a tag
 * `vX.Y.Z` goes to CHART_REPO=latest); `stable` only gets what is promoted later.
 */
export const RANCHER_CHART: OnlineChart = {
  kind: "repo",
  repoName: "rancher-latest",
  repoUrl: "https://releases.rancher.com/server-charts/latest",
  chart: "rancher",
};

/**
 * Rancher reads its first admin password from this Secret before it looks at the chart's
 * `bootstrapPassword` value (rancher pkg/data/management/bootstrap_password.go, v2.12.3), so powerstack
 * applies the Secret itself over stdin and the password never enters Helm's values, its release record,
 * the fingerprint or a --diff.
 */
export const BOOTSTRAP_SECRET = "bootstrap-secret";
export const BOOTSTRAP_SECRET_KEY = "bootstrapPassword";

/** The Service the chart makes (`rancher.fullname`: the release name) and the port of its `http` entry. */
export const RANCHER_SERVICE = "rancher";
export const RANCHER_SERVICE_PORT = "http";

export const certManagerChart = (inventory: Inventory): ChartSource =>
  pinnedChart(CERT_MANAGER_CHART, CERT_MANAGER_VERSION, inventory.cluster.k3s);

export const rancherChart = (inventory: Inventory): ChartSource =>
  pinnedChart(RANCHER_CHART, inventory.cluster.rancher.version, inventory.cluster.k3s);
