/**
 * The context of templates/kube-prometheus-stack.values.yaml.hbs, built from the inventory. Everything the
 * values say comes from here, typed; the template only lays it out at the chart's key paths
 * (REFERENCE.md, checked against the chart's default values by test/monitoring).
 */
import { stringify } from "yaml";
import type { Inventory } from "../../src/inventory/types.js";
import { quantityValue } from "../../src/modules/kube-apply.js";
import { withExtraValues } from "../../src/charts/extra-values.js";
import { renderTemplate } from "../../src/templates/render.js";
import { STORAGE_CLASS, VOLUME_LABEL } from "../cluster-storage/volumes.js";
import { alertRulesContext, alertRulesMap } from "./alert-rules.js";
import { GRAFANA_ADMIN_SECRET, GRAFANA_CLAIM, SLACK_SECRET, SLACK_URL_FILE } from "./release.js";

export interface MonitoringValuesContext {
  chartVersion: string;
  storageClass: string;
  volumeLabel: string;
  prometheus: {
    nodePort: number;
    retention: string;
    retentionSize: string;
    scrapeInterval: string;
    claim: string;
  };
  alertmanager: { nodePort: number; claim: string };
  grafana: { nodePort: number; adminSecret: string; existingClaim: string };
  slack?: { secret: string; urlFile: string; channel?: string; title: string; text: string };
  /** `additionalPrometheusRulesMap`, as YAML (the rules template, parsed and checked). */
  rulesYaml: string;
}

/**
 * Prometheus' size-based retention at 85% of its volume: time-based retention alone lets a busy cluster
 * fill the NFS disk, and the WAL and compaction need headroom beyond the blocks. Prometheus' units are
 * powers of two (`GB` = 2^30 bytes), like the volume's `Gi`.
 */
export function retentionSize(volumeSize: string): string {
  const bytes = quantityValue(volumeSize) ?? 0;
  const mb = Math.floor((bytes * 0.85) / 2 ** 20);
  return mb >= 10 * 1024 ? `${Math.floor(mb / 1024)}GB` : `${mb}MB`;
}

// Alertmanager's Go templates, passed as data so Handlebars leaves their braces alone.
const SLACK_TITLE =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}';
const SLACK_TEXT =
  "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n{{ end }}";

export function monitoringValuesContext(
  inventory: Inventory,
  redfishNodes: string[],
): MonitoringValuesContext {
  const { monitoring, volumes, nodePorts } = inventory.cluster;
  return {
    chartVersion: monitoring.chartVersion,
    storageClass: STORAGE_CLASS,
    volumeLabel: VOLUME_LABEL,
    prometheus: {
      nodePort: nodePorts.prometheus,
      retention: monitoring.retention,
      retentionSize: retentionSize(volumes.prometheus.size),
      scrapeInterval: monitoring.scrapeInterval,
      claim: volumes.prometheus.claim,
    },
    alertmanager: { nodePort: nodePorts.alertmanager, claim: volumes.alertmanager.claim },
    grafana: { nodePort: nodePorts.grafana, adminSecret: GRAFANA_ADMIN_SECRET, existingClaim: GRAFANA_CLAIM },
    slack: monitoring.slackWebhookSecret
      ? {
          secret: SLACK_SECRET,
          urlFile: SLACK_URL_FILE,
          channel: monitoring.slackChannel,
          title: SLACK_TITLE,
          text: SLACK_TEXT,
        }
      : undefined,
    rulesYaml: stringify(alertRulesMap(alertRulesContext(inventory, redfishNodes)), { lineWidth: 0 }),
  };
}

export function monitoringValues(inventory: Inventory, redfishNodes: string[]): string {
  return withExtraValues(
    renderTemplate("kube-prometheus-stack.values.yaml.hbs", monitoringValuesContext(inventory, redfishNodes)),
    inventory.cluster.monitoring.extraValues,
    "cluster.monitoring.extra_values",
  );
}
