/**
 * monitoring (control node): kube-prometheus-stack by Helm at the pinned chart version, values rendered from
 * the inventory, upgraded only when the chart version or the values changed; its credentials (Grafana's
 * admin login, the Slack webhook) as Kubernetes Secrets applied over stdin; the energy dashboards.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { nodePortUrl } from "../../src/inventory/node-port-url.js";
import type { Inventory } from "../../src/inventory/types.js";
import { grafanaFullname } from "../../src/grafana/chart.js";
import { grafanaAdmin } from "../../src/modules/grafana-admin.js";
import { helmRelease, type HelmReleaseParams } from "../../src/modules/helm-release.js";
import { kubeApply, namespaceObject, secretObject, type KubeObject } from "../../src/modules/kube-apply.js";
import { redfishNodes } from "../kepler/redfish.js";
import { dashboardConfigMaps } from "./dashboards.js";
import {
  GRAFANA_ADMIN_SECRET,
  monitoringChart,
  MONITORING_RELEASE,
  SLACK_SECRET,
  SLACK_SECRET_KEY,
} from "./release.js";
import { monitoringValues } from "./values.js";

/** kube-prometheus-stack brings up ~10 workloads and pulls their images on a first install. */
export const MONITORING_TIMEOUT_SEC = 900;

export function monitoringSecrets(inventory: Inventory, secret: (key: string) => string): KubeObject[] {
  const m = inventory.cluster.monitoring;
  return [
    // The keys the chart reads: grafana.admin.userKey / passwordKey.
    secretObject(m.namespace, GRAFANA_ADMIN_SECRET, {
      "admin-user": m.grafanaAdminUser,
      "admin-password": secret(m.grafanaAdminPasswordSecret),
    }),
    ...(m.slackWebhookSecret
      ? [secretObject(m.namespace, SLACK_SECRET, { [SLACK_SECRET_KEY]: secret(m.slackWebhookSecret) })]
      : []),
  ];
}

/** The monitoring namespace and its Secrets: what the role applies before the chart. */
export const monitoringObjects = (inventory: Inventory, secret: (key: string) => string): KubeObject[] => [
  namespaceObject(inventory.cluster.monitoring.namespace),
  ...monitoringSecrets(inventory, secret),
];

/** The kube-prometheus-stack release as `up` installs it. */
export function monitoringRelease(inventory: Inventory): HelmReleaseParams {
  const m = inventory.cluster.monitoring;
  return {
    release: MONITORING_RELEASE,
    namespace: m.namespace,
    chart: monitoringChart(inventory),
    version: m.chartVersion,
    values: monitoringValues(
      inventory,
      redfishNodes(inventory).map((n) => n.name),
    ),
    timeoutSec: MONITORING_TIMEOUT_SEC,
  };
}

export const role: Role = {
  name: "monitoring",
  description:
    "kube-prometheus-stack (Prometheus, Alertmanager, Grafana) by Helm, upgraded only when its chart or values change",
  tasks: (ctx) => {
    const { inventory } = ctx;
    const m = inventory.cluster.monitoring;
    return {
      tasks: [
        task({
          name: `namespace ${m.namespace} and its Secrets`,
          module: kubeApply,
          params: { objects: monitoringObjects(inventory, ctx.secret) },
        }),
        task({
          name: `kube-prometheus-stack ${m.chartVersion}`,
          module: helmRelease,
          params: monitoringRelease(inventory),
        }),
        task({
          // Grafana keeps the admin password of its first start (its volume survives reinstalls): a
          // rotated vault password is reset inside Grafana, checked by logging in as verify does.
          name: "Grafana admin login with the vault's password",
          module: grafanaAdmin,
          params: {
            url: nodePortUrl(inventory, "grafana"),
            user: m.grafanaAdminUser,
            password: ctx.secret(m.grafanaAdminPasswordSecret),
            passwordSource: `vault key \`${m.grafanaAdminPasswordSecret}\``,
            namespace: m.namespace,
            deployment: grafanaFullname(MONITORING_RELEASE),
          },
        }),
        task({
          name: "Grafana dashboards (power by node, by namespace, CO2)",
          module: kubeApply,
          params: { objects: dashboardConfigMaps(inventory) },
        }),
      ],
    };
  },
};
