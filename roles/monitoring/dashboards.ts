/**
 * Grafana dashboards (power by node, by namespace, CO2), as ConfigMaps Grafana's dashboard sidecar loads
 * (label `grafana_dashboard: "1"`, the chart's `grafana.sidecar.dashboards.label`/`labelValue`).
 * The panels' layout is in templates/dashboards/*.json.hbs; the PromQL is built here from the Kepler
 * line in use (src/prometheus/kepler-metrics.ts: the same series `powerstack energy` prices).
 */
import type { Inventory } from "../../src/inventory/types.js";
import { MANAGED_BY, type KubeObject } from "../../src/modules/kube-apply.js";
import { CO2_SOURCE_REFERENCE, CO2_SOURCES } from "../../src/prometheus/co2-sources.js";
import { KEPLER_LINES, selector } from "../../src/prometheus/kepler-metrics.js";
import { renderTemplate } from "../../src/templates/render.js";

export const DASHBOARD_LABEL = { grafana_dashboard: "1" };
export const DASHBOARDS = ["power-by-node", "power-by-namespace", "co2"] as const;
const J_PER_KWH = 3_600_000;

export interface DashboardContext {
  flavour: string;
  gridIntensity: number;
  q: {
    nodeCpuWatts: string;
    nodeDramWatts: string;
    nodePlatformWatts: string;
    nodeKwh: string;
    namespaceWatts: string;
    namespaceKwh: string;
    nodeCo2GramsPerHour: string;
    namespaceCo2Grams: string;
    clusterCo2Grams: string;
  };
  /** Grafana legend templates (`{{node_name}}`), passed as data so Handlebars leaves them alone. */
  legend: { node: string; namespace: string };
  /**
   * CO2 had the energy been generated from coal, petroleum or natural gas (src/prometheus/co2-sources.ts,
   * the factors `powerstack energy` uses): one Grafana target per fuel, built here whole.
   */
  co2BySource: { factors: string; reference: string; cluster: GrafanaTarget[]; namespace: GrafanaTarget[] };
}

export interface GrafanaTarget {
  refId: string;
  expr: string;
  legendFormat: string;
  instant: true;
}

export function dashboardContext(inventory: Inventory): DashboardContext {
  const line = KEPLER_LINES[inventory.cluster.kepler.flavour];
  const intensity = inventory.cluster.carbon.gridIntensityGPerKwh;
  const node = line.nodeLabel;
  const ns = line.namespaceLabel;
  const watts = (by: string, s: { metric: string; matchers?: string }) =>
    `sum by (${by}) (rate(${selector(s)}[$__rate_interval]))`;
  const joules = (by: string, s: { metric: string; matchers?: string }) =>
    `sum ${by ? `by (${by}) ` : ""}(increase(${selector(s)}[$__range]))`;
  const p = line.nodePlatform;
  return {
    flavour: line.flavour,
    gridIntensity: intensity,
    q: {
      nodeCpuWatts: watts(node, line.nodeCpu),
      nodeDramWatts: watts(node, line.nodeDram),
      // Current Kepler exports BMC power as a gauge per PowerControl entry; they overlap, so the largest
      // (the whole server) is shown, never the sum (as `powerstack energy` does).
      nodePlatformWatts: p.kind === "counter" ? watts(node, p) : `max by (${node}) (${p.metric})`,
      nodeKwh: `${joules(node, line.nodeCpu)} / ${J_PER_KWH}`,
      namespaceWatts: watts(ns, line.workload),
      namespaceKwh: `${joules(ns, line.workload)} / ${J_PER_KWH}`,
      // W x gCO2e/kWh / 1000 = gCO2e per hour.
      nodeCo2GramsPerHour: `${watts(node, line.nodeCpu)} * ${intensity} / 1000`,
      namespaceCo2Grams: `${joules(ns, line.workload)} / ${J_PER_KWH} * ${intensity}`,
      clusterCo2Grams: `${joules("", line.nodeCpu)} / ${J_PER_KWH} * ${intensity}`,
    },
    legend: { node: `{{${node}}}`, namespace: `{{${ns}}}` },
    co2BySource: {
      factors: CO2_SOURCES.map((f) => `${f.name} ${f.gPerKwh}`).join(", "),
      reference: CO2_SOURCE_REFERENCE,
      cluster: CO2_SOURCES.map((f, i) => ({
        refId: String.fromCharCode(65 + i),
        expr: `${joules("", line.nodeCpu)} / ${J_PER_KWH} * ${f.gPerKwh}`,
        legendFormat: f.name,
        instant: true,
      })),
      namespace: CO2_SOURCES.map((f, i) => ({
        refId: String.fromCharCode(65 + i),
        expr: `${joules(ns, line.workload)} / ${J_PER_KWH} * ${f.gPerKwh}`,
        legendFormat: `{{${ns}}} ${f.name}`,
        instant: true,
      })),
    },
  };
}

/** One ConfigMap per dashboard, in the monitoring namespace (where the sidecar looks by default). */
export function dashboardConfigMaps(inventory: Inventory): KubeObject[] {
  const ctx = dashboardContext(inventory);
  return DASHBOARDS.map((name) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `powerstack-dashboard-${name}`,
      namespace: inventory.cluster.monitoring.namespace,
      labels: { ...MANAGED_BY, ...DASHBOARD_LABEL },
    },
    data: { [`${name}.json`]: renderTemplate(`dashboards/${name}.json.hbs`, ctx) },
  }));
}
