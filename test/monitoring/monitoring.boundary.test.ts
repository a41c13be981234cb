/**
 * BOUNDARY tests of the monitoring role: what kube-prometheus-stack's values say (volumes, NodePorts,
 * retention, Grafana's Secret, Slack, rules), that no credential is in them, the Secrets that carry the
 * credentials instead, and the dashboards.
 */
import { parse } from "yaml";
import { describe, expect, test } from "vitest";
import { role } from "../../roles/monitoring/index.js";
import { dashboardConfigMaps } from "../../roles/monitoring/dashboards.js";
import { retentionSize } from "../../roles/monitoring/values.js";
import type { HelmReleaseParams } from "../../src/modules/helm-release.js";
import type { KubeApplyParams } from "../../src/modules/kube-apply.js";
import { inventory, roleContext, SECRETS, VAULT } from "./fixtures.js";

async function tasks(inv = inventory()) {
  return (await role.tasks(roleContext(inv))).tasks;
}
async function values(inv = inventory()) {
  const p = (await tasks(inv)).find((t) => t.module.name === "helm-release")!.params as HelmReleaseParams;
  return { p, v: parse(p.values) };
}

describe("kube-prometheus-stack values (boundary)", () => {
  test("volumes: claim sizes from the inventory, our StorageClass, each claim selecting its own volume", async () => {
    const { v } = await values();
    expect(v.prometheus.prometheusSpec.storageSpec).toEqual({
      volumeClaimTemplate: {
        spec: {
          storageClassName: "powerstack-nfs",
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "55Gi" } },
          selector: { matchLabels: { "powerstack.io/volume": "prometheus" } },
        },
      },
    });
    expect(v.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec).toMatchObject({
      resources: { requests: { storage: "3Gi" } },
      selector: { matchLabels: { "powerstack.io/volume": "alertmanager" } },
    });
    expect(v.grafana.persistence).toEqual({
      enabled: true,
      type: "pvc",
      existingClaim: "powerstack-grafana",
    });
  });

  test("NodePorts, retention (time and 85% of the volume), scrape interval, every ServiceMonitor selected", async () => {
    const { v, p } = await values();
    expect(v.prometheus.service).toEqual({ type: "NodePort", nodePort: 31090 });
    expect(v.alertmanager.service).toEqual({ type: "NodePort", nodePort: 31093 });
    expect(v.grafana.service).toEqual({ type: "NodePort", nodePort: 31030 });
    expect(v.prometheus.prometheusSpec).toMatchObject({
      retention: "30d",
      retentionSize: "51GB",
      scrapeInterval: "15s",
      serviceMonitorSelectorNilUsesHelmValues: false,
    });
    expect(retentionSize("2Gi")).toBe("1740MB");
    expect(p).toMatchObject({
      release: "kube-prometheus-stack",
      namespace: "monitoring",
      version: "88.5.3",
      chart: { kind: "repo", repoName: "prometheus-community", chart: "kube-prometheus-stack" },
    });
  });

  test("Grafana admin from an existing Secret; no credential anywhere in the values", async () => {
    const { v, p } = await values();
    expect(v.grafana.admin).toEqual({
      existingSecret: "grafana-admin",
      userKey: "admin-user",
      passwordKey: "admin-password",
    });
    expect(v.grafana.adminPassword).toBeUndefined();
    for (const s of SECRETS()) expect(p.values).not.toContain(s);
  });

  test("Slack: the webhook Secret mounted in Alertmanager and read through api_url_file", async () => {
    const { v } = await values();
    expect(v.alertmanager.alertmanagerSpec.secrets).toEqual(["alertmanager-slack"]);
    expect(v.alertmanager.config.route).toEqual({
      receiver: "slack",
      routes: [
        { receiver: "null", matchers: ['alertname = "Watchdog"'] },
        { receiver: "null", matchers: ['alertname = "InfoInhibitor"'] },
      ],
    });
    expect(v.alertmanager.config.receivers).toEqual([
      { name: "null" },
      {
        name: "slack",
        slack_configs: [
          {
            api_url_file: "/etc/alertmanager/secrets/alertmanager-slack/webhook-url",
            channel: "#energy",
            send_resolved: true,
            title: expect.stringContaining("{{ .CommonLabels.alertname }}"),
            text: expect.stringContaining("{{ range .Alerts }}"),
          },
        ],
      },
    ]);
    const none = await values(inventory({ slack: false }));
    expect(none.v.alertmanager.config).toBeUndefined();
    expect(none.v.alertmanager.alertmanagerSpec.secrets).toBeUndefined();
  });

  test("energy alert rules for the Kepler line in use, Prometheus templating intact", async () => {
    const current = (await values()).v.additionalPrometheusRulesMap["powerstack-energy"].groups[0].rules;
    expect(current.map((r: { alert: string }) => r.alert)).toEqual([
      "KeplerTargetDown",
      "KeplerNoEnergyData",
      "KeplerNoPlatformPower",
    ]);
    expect(current[1].expr).toBe(
      'sum by (node_name) (rate(kepler_node_cpu_joules_total{zone="package"}[10m])) == 0',
    );
    expect(current[1].annotations.summary).toBe("Kepler reports no CPU energy on {{ $labels.node_name }}");
    expect(current[2].expr).toBe(
      'count by (node_name) (kepler_node_cpu_joules_total{zone="package", node_name=~"ctl|w1"}) unless count by (node_name) (kepler_platform_watts > 0)',
    );
    const legacy = (await values(inventory({ flavour: "legacy", bmcs: ["w1"] }))).v
      .additionalPrometheusRulesMap["powerstack-energy"].groups[0].rules;
    expect(legacy[1].expr).toBe("sum by (instance) (rate(kepler_node_package_joules_total[10m])) == 0");
    expect(legacy[2].expr).toBe(
      'sum by (instance) (rate(kepler_node_package_joules_total{instance=~"w1"}[10m])) unless (sum by (instance) (rate(kepler_node_platform_joules_total{instance=~"w1"}[10m])) > 0)',
    );
    // Current Kepler (chart 0.11.4) with a node lacking a BMC: Redfish for the others, watched alone.
    const partial = (await values(inventory({ bmcs: ["ctl"] }))).v.additionalPrometheusRulesMap[
      "powerstack-energy"
    ].groups[0].rules;
    expect(partial[2].expr).toContain('node_name=~"ctl"}');
    // No BMC at all: no platform rule.
    const none = (await values(inventory({ bmcs: [] }))).v.additionalPrometheusRulesMap["powerstack-energy"]
      .groups[0].rules;
    expect(none.map((r: { alert: string }) => r.alert)).not.toContain("KeplerNoPlatformPower");
  });

  test("K3s: the components K3s embeds (scheduler, controller-manager, proxy) and etcd are not monitored", async () => {
    for (const slack of [true, false]) {
      const { v } = await values(inventory({ slack }));
      for (const c of ["kubeScheduler", "kubeControllerManager", "kubeProxy", "kubeEtcd"])
        expect(v[c], c).toEqual({ enabled: false });
    }
  });
});

describe("monitoring Secrets and dashboards (boundary)", () => {
  test("Grafana's login and the Slack webhook as Secrets (base64 data), applied before the release", async () => {
    const t = await tasks();
    expect(t.map((x) => x.module.name)).toEqual([
      "kube-apply",
      "helm-release",
      "grafana-admin",
      "kube-apply",
    ]);
    const objs = (t[0]!.params as KubeApplyParams).objects;
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/monitoring",
      "Secret/grafana-admin",
      "Secret/alertmanager-slack",
    ]);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    expect(objs[1]!.data).toEqual({
      "admin-user": b64("boss"),
      "admin-password": b64(VAULT.grafana_admin_password!),
    });
    expect(objs[2]!.data).toEqual({ "webhook-url": b64(VAULT.slack_webhook!) });
    const none = (await tasks(inventory({ slack: false })))[0]!.params as KubeApplyParams;
    expect(none.objects.map((o) => o.metadata.name)).toEqual(["monitoring", "grafana-admin"]);
  });

  test("a vault key the inventory names but the vault lacks fails before anything is sent", async () => {
    const inv = inventory();
    await expect(async () => role.tasks(roleContext(inv, { slack_webhook: "x" }))).rejects.toThrow(
      /vault has no grafana_admin_password/,
    );
  });

  test("dashboards: one ConfigMap each with the sidecar label, valid JSON, the Kepler line's series, the grid intensity", () => {
    const cms = dashboardConfigMaps(inventory());
    expect(cms.map((c) => c.metadata.name)).toEqual([
      "powerstack-dashboard-power-by-node",
      "powerstack-dashboard-power-by-namespace",
      "powerstack-dashboard-co2",
    ]);
    for (const c of cms) {
      expect(c.metadata).toMatchObject({ namespace: "monitoring", labels: { grafana_dashboard: "1" } });
      const [file, json] = Object.entries(c.data as Record<string, string>)[0]!;
      expect(file).toMatch(/\.json$/);
      const d = JSON.parse(json);
      expect(d.uid).toMatch(/^powerstack-/);
      expect(d.panels.length).toBeGreaterThan(0);
      for (const p of d.panels) expect(p.targets[0].expr).toMatch(/kepler_/);
    }
    const node = JSON.parse(Object.values(cms[0]!.data as Record<string, string>)[0]!);
    expect(node.panels[0].targets[0]).toEqual({
      refId: "A",
      expr: 'sum by (node_name) (rate(kepler_node_cpu_joules_total{zone="package"}[$__rate_interval]))',
      legendFormat: "{{node_name}}",
    });
    expect(node.panels[1].targets[0].expr).toBe("max by (node_name) (kepler_platform_watts)");
    const co2 = JSON.parse(Object.values(cms[2]!.data as Record<string, string>)[0]!);
    expect(co2.title).toBe("CO2 emissions (grid intensity 380 gCO2e/kWh)");
    expect(co2.panels[0].targets[0].expr).toBe(
      'sum (increase(kepler_node_cpu_joules_total{zone="package"}[$__range])) / 3600000 * 380',
    );
    const ns = JSON.parse(
      Object.values(
        dashboardConfigMaps(inventory({ flavour: "legacy" }))[1]!.data as Record<string, string>,
      )[0]!,
    );
    expect(ns.panels[0].targets[0]).toMatchObject({
      expr: "sum by (container_namespace) (rate(kepler_container_joules_total[$__rate_interval]))",
      legendFormat: "{{container_namespace}}",
    });
  });
});
