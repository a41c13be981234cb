/**
 * REAL-ARTIFACT tests of the monitoring release on K3s (issue 15): the values `renderArtifacts` produces for
 * inventory/example.yaml and its variants are rendered by the real `helm template` against the pinned
 * kube-prometheus-stack chart; every PrometheusRule group goes through the real `promtool check rules`, and
 * the Alertmanager config the chart writes into its Secret through the real `amtool`.
 *
 * On K3s the scheduler, controller-manager and kube-proxy run inside the k3s process and powerstack's single
 * server has no etcd: no rule may watch a job of those components, and none of their ServiceMonitors may be
 * rendered (they would only ever produce dead targets and `absent(up{job=...})` alerts firing forever).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, test } from "vitest";
import type { Inventory } from "../../src/inventory/types.js";
import { requireCharts } from "../support/real-helm.js";
import {
  alertmanagerConfig,
  amRoute,
  exampleInventory,
  promtoolCheckGroups,
  renderMonitoring,
  ruleGroups,
  tempDir,
  tool,
  type KubeDoc,
} from "./real-artifacts.js";

const haveCharts = requireCharts();

/** The K3s-embedded components, the `job` label the chart's rules give each, its ServiceMonitor's name. */
const K3S_EMBEDDED = [
  { component: "kubeScheduler", job: "kube-scheduler", serviceMonitor: /-kube-scheduler$/ },
  {
    component: "kubeControllerManager",
    job: "kube-controller-manager",
    serviceMonitor: /-kube-controller-manager$/,
  },
  { component: "kubeProxy", job: "kube-proxy", serviceMonitor: /-kube-proxy$/ },
  { component: "kubeEtcd", job: "kube-etcd", serviceMonitor: /-kube-etcd$/ },
] as const;

/** Every `job` matcher of a PromQL expression (`=` and `=~`; negative matchers select nothing by name). */
function jobMatchers(expr: string): Array<{ op: "=" | "=~"; value: string }> {
  return [...expr.matchAll(/\bjob\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => ({
    op: m[1] as "=" | "=~",
    value: m[2]!,
  }));
}

/** The embedded components' jobs a rule expression would select (etcd by job name or by `etcd` in it). */
function targetedJobs(expr: string): string[] {
  const jobs = new Set<string>();
  for (const { op, value } of jobMatchers(expr))
    for (const { job } of K3S_EMBEDDED) {
      const hit = op === "=" ? value === job : new RegExp(`^(?:${value.replace(/\\\\/g, "\\")})$`).test(job);
      if (hit) jobs.add(job);
    }
  return [...jobs];
}

const VARIANTS: Array<[string, () => Inventory, { slack: boolean }]> = [
  ["example inventory (current Kepler, Slack on)", () => exampleInventory(), { slack: true }],
  ["example, legacy Kepler, Slack on", () => exampleInventory({ flavour: "legacy" }), { slack: true }],
  ["example, current Kepler, Slack off", () => exampleInventory({ slack: false }), { slack: false }],
  [
    "example, legacy Kepler, Slack off",
    () => exampleInventory({ slack: false, flavour: "legacy" }),
    { slack: false },
  ],
];

describe.skipIf(!haveCharts).each(VARIANTS)(
  "kube-prometheus-stack on K3s, real artifacts (helm template + promtool + amtool): %s",
  (_name, inv, { slack }) => {
    let docs: KubeDoc[];
    let dir: string;
    beforeAll(async () => {
      docs = (await renderMonitoring(inv())).docs;
      dir = tempDir("k3s-rules");
    });

    test("promtool check rules passes on every rule group of every rendered PrometheusRule", async () => {
      const groups = ruleGroups(docs);
      const rules = groups.reduce((n, g) => n + g.group.rules.length, 0);
      // The chart's groups (K3s components removed) plus ours; a render that lost them all would pass vacuously.
      expect(groups.length).toBeGreaterThan(25);
      expect(groups.map((g) => g.group.name)).toContain("powerstack-energy");
      // Syntax and semantics (parse, types, templates of annotations): every file must pass.
      const { files, result } = await promtoolCheckGroups(groups, dir, ["--lint=none"]);
      expect(result.stderr + result.stdout, "promtool check rules").not.toMatch(/FAILED/);
      expect(result.code).toBe(0);
      // One SUCCESS per file, with the number of rules the group holds.
      const found = [...result.stdout.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => Number(m[1]));
      expect(found).toHaveLength(files.length);
      expect(found.reduce((a, b) => a + b, 0)).toBe(rules);
      // promtool's duplicate-rules lint, too: its one finding is upstream's, by design. kubernetes-mixin's
      // kube-apiserver-availability group records code_verb:apiserver_request_total:increase1h four times,
      // for code=~"2..", "3..", "4..", "5..": the `code` label keeps the four results apart, promtool's
      // lint compares names and static labels only. Anything else it finds fails here.
      const lint = await promtoolCheckGroups(groups, dir, ["--lint=duplicate-rules"]);
      const dups = [...(lint.result.stdout + lint.result.stderr).matchAll(/Metric: (\S+)/g)].map((m) => m[1]);
      expect(dups).toEqual(["code_verb:apiserver_request_total:increase1h"]);
      process.stdout.write(`  promtool check rules: ${groups.length} groups, ${rules} rules: SUCCESS\n`);
    });

    test("no rule targets a K3s-embedded component, and none of their ServiceMonitors is rendered", () => {
      const monitors = docs.filter((d) => d.kind === "ServiceMonitor").map((d) => d.metadata.name);
      const targeting: string[] = [];
      for (const { object, group } of ruleGroups(docs))
        for (const r of group.rules)
          for (const job of targetedJobs(String(r.expr)))
            targeting.push(`${object}/${group.name}/${r.alert ?? r.record}: job=${job}`);
      // Nothing watches a component K3s does not expose; etcd neither by job nor by its metrics.
      expect(targeting).toEqual([]);
      const etcdRules = ruleGroups(docs).flatMap(({ group }) =>
        group.rules
          .filter((r) => /\betcd[a-z_]*\{|\betcd_/.test(String(r.expr)))
          .map((r) => r.alert ?? r.record),
      );
      expect(etcdRules).toEqual([]);
      for (const { serviceMonitor } of K3S_EMBEDDED)
        expect(monitors.filter((m) => serviceMonitor.test(m))).toEqual([]);
      // And the other way round: every job a rule names exactly is scraped by a ServiceMonitor of this render
      // (the `job` each one produces: chart 88.5.3's jobLabel/Service names), or is Kepler's (its own chart).
      const jobOf: Record<string, string> = {
        apiserver: "kube-prometheus-stack-apiserver",
        kubelet: "kube-prometheus-stack-kubelet",
        "kube-state-metrics": "kube-prometheus-stack-kube-state-metrics",
        "node-exporter": "kube-prometheus-stack-prometheus-node-exporter",
        coredns: "kube-prometheus-stack-coredns",
        "kube-prometheus-stack-alertmanager": "kube-prometheus-stack-alertmanager",
        "kube-prometheus-stack-operator": "kube-prometheus-stack-operator",
        "kube-prometheus-stack-prometheus": "kube-prometheus-stack-prometheus",
        "kube-scheduler": "kube-prometheus-stack-kube-scheduler",
        "kube-controller-manager": "kube-prometheus-stack-kube-controller-manager",
        "kube-proxy": "kube-prometheus-stack-kube-proxy",
        "kube-etcd": "kube-prometheus-stack-kube-etcd",
      };
      const unscraped = new Set<string>();
      for (const { group } of ruleGroups(docs))
        for (const r of group.rules)
          for (const m of jobMatchers(String(r.expr)))
            if (m.op === "=" && !monitors.includes(jobOf[m.value] ?? "")) unscraped.add(m.value);
      expect([...unscraped]).toEqual([]);
      // Still monitored: the parts of K3s that can be scraped (the apiserver and kubelets of the k3s process).
      expect(monitors).toEqual(
        expect.arrayContaining(["kube-prometheus-stack-apiserver", "kube-prometheus-stack-kubelet"]),
      );
      const alerts = ruleGroups(docs).flatMap(({ group }) => group.rules.map((r) => r.alert));
      for (const a of ["KubeSchedulerDown", "KubeControllerManagerDown", "KubeProxyDown", "etcdMembersDown"])
        expect(alerts).not.toContain(a);
      expect(alerts).toEqual(
        expect.arrayContaining(["KubeAPIDown", "KubeletDown", "Watchdog", "InfoInhibitor"]),
      );
    });

    test("the rendered Alertmanager config passes amtool check-config and routes as intended", async () => {
      const { secret, yaml } = alertmanagerConfig(docs);
      expect(secret).toBe("alertmanager-kube-prometheus-stack-alertmanager");
      const file = join(dir, "alertmanager.yaml");
      writeFileSync(file, yaml);
      const check = await tool("amtool", ["check-config", file]);
      expect(check.stdout + check.stderr).toMatch(/SUCCESS/);
      expect(check.code).toBe(0);

      const config = parse(yaml) as { receivers: Array<{ name: string; slack_configs?: unknown[] }> };
      const slackReceivers = config.receivers.filter((r) => r.slack_configs?.length).map((r) => r.name);
      expect(await amRoute(file, { alertname: "Watchdog", severity: "none" })).toBe("null");
      expect(
        await amRoute(file, { alertname: "InfoInhibitor", severity: "none", namespace: "kube-system" }),
      ).toBe("null");
      if (slack) {
        expect(slackReceivers).toEqual(["slack"]);
        expect(
          await amRoute(file, { alertname: "KeplerTargetDown", severity: "warning", instance: "x:28282" }),
        ).toBe("slack");
        expect(await amRoute(file, { alertname: "KubeAPIDown", severity: "critical" })).toBe("slack");
      } else {
        expect(slackReceivers).toEqual([]);
        // Every alert the render defines goes nowhere near Slack.
        const alerts = [
          ...new Set(
            ruleGroups(docs).flatMap(({ group }) =>
              group.rules.filter((r) => r.alert).map((r) => `${r.alert}\t${r.labels?.severity ?? "none"}`),
            ),
          ),
        ].map((k) => k.split("\t") as [string, string]);
        expect(alerts.length).toBeGreaterThan(50);
        const routes = await Promise.all(
          alerts.map(([a, s]) => amRoute(file, { alertname: a, severity: s })),
        );
        expect([...new Set(routes)]).toEqual(["null"]);
        process.stdout.write(`  amtool config routes test: ${alerts.length} alerts, all to "null"\n`);
      }
    });
  },
);

describe("the rule scan of the real-artifact tests catches what it must", () => {
  test("the chart's own expressions for the K3s-embedded components are recognised", () => {
    // As chart 88.5.3 renders them (templates/prometheus/rules-1.14/*.yaml).
    expect(targetedJobs('absent(up{job="kube-scheduler"} == 1)')).toEqual(["kube-scheduler"]);
    expect(targetedJobs('absent(up{job="kube-controller-manager"} == 1)')).toEqual([
      "kube-controller-manager",
    ]);
    expect(targetedJobs('absent(up{job="kube-proxy"} == 1)')).toEqual(["kube-proxy"]);
    expect(targetedJobs('sum without (instance) (up{job=~".*etcd.*"} == bool 0)')).toEqual(["kube-etcd"]);
    expect(targetedJobs('up{job=~".*kepler.*"} == 0')).toEqual([]);
    expect(targetedJobs('up{job="apiserver"} == 0')).toEqual([]);
  });
});
