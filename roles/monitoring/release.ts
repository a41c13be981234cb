/**
 * The kube-prometheus-stack release, and the names its chart and the Prometheus operator derive from it.
 * They are computed here, once, because the cluster-storage role must know the claims the operator will
 * create, to reserve a volume for each (PersistentVolume.spec.claimRef).
 */
import type { Inventory } from "../../src/inventory/types.js";
import { pinnedChart, type ChartSource, type OnlineChart } from "../../src/modules/chart-source.js";

export const MONITORING_RELEASE = "kube-prometheus-stack";

/**
 * `crds: true`: the chart's `crds` subchart holds the Prometheus operator's 10 CRDs, which Helm never
 * upgrades; helm-release applies them server-side before an install or a chart-version change.
 */
export const MONITORING_CHART: OnlineChart = {
  kind: "repo",
  repoName: "prometheus-community",
  repoUrl: "https://prometheus-community.github.io/helm-charts",
  chart: "kube-prometheus-stack",
  crds: true,
};

/** The chart `up` installs: the repository chart, or air-gapped `<artifacts_dir>/kube-prometheus-stack-<version>.tgz`. */
export const monitoringChart = (inventory: Inventory): ChartSource =>
  pinnedChart(MONITORING_CHART, inventory.cluster.monitoring.chartVersion, inventory.cluster.k3s);

/**
 * `kube-prometheus-stack.fullname`: the release name when it contains the chart name, truncated to 26
 * characters; the custom resources are `<fullname>-prometheus` and `<fullname>-alertmanager`
 * (templates/_helpers.tpl, `cleanPrometheusOperatorObjectNames: false`, the default).
 */
const fullname = MONITORING_RELEASE.slice(0, 26).replace(/-+$/, "");
export const PROMETHEUS_CR = `${fullname}-prometheus`;
export const ALERTMANAGER_CR = `${fullname}-alertmanager`;

/**
 * The operator's StatefulSets are `prometheus-<cr>` / `alertmanager-<cr>` and their volume claim
 * template is named `<that>-db` (prometheus-operator pkg/{prometheus,alertmanager}/statefulset.go,
 * `volumeName`); a StatefulSet names the claim of replica 0 `<template>-<statefulset>-0`.
 */
export const PROMETHEUS_CLAIM = `prometheus-${PROMETHEUS_CR}-db-prometheus-${PROMETHEUS_CR}-0`;
export const ALERTMANAGER_CLAIM = `alertmanager-${ALERTMANAGER_CR}-db-alertmanager-${ALERTMANAGER_CR}-0`;
/** The operator mounts those volumes with these subPaths: the directories Prometheus/Alertmanager write. */
export const OPERATOR_SUBPATH = { prometheus: "prometheus-db", alertmanager: "alertmanager-db" } as const;

/** Grafana's claim is ours (cluster-storage applies it; the chart uses it as `existingClaim`). */
export const GRAFANA_CLAIM = "powerstack-grafana";

export const GRAFANA_ADMIN_SECRET = "grafana-admin";
export const SLACK_SECRET = "alertmanager-slack";
export const SLACK_SECRET_KEY = "webhook-url";
/** alertmanagerSpec.secrets are mounted at /etc/alertmanager/secrets/<name>/ (chart values comment). */
export const SLACK_URL_FILE = `/etc/alertmanager/secrets/${SLACK_SECRET}/${SLACK_SECRET_KEY}`;
