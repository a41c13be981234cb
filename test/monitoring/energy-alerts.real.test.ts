/**
 * REAL-ARTIFACT tests of powerstack's own energy alerts: the rule group `up` sends (the
 * `additionalPrometheusRulesMap` of the values `renderArtifacts` renders, from roles/monitoring/alert-rules.ts
 * and templates/energy-alert-rules.yaml.hbs) is run by the real `promtool test rules` against input series
 * shaped like Kepler's (names and labels as in test/energy/fixtures.ts and src/prometheus/kepler-metrics.ts),
 * for both Kepler lines: for every alert, series where it fires (after its `for:`) and series where it does not.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, test } from "vitest";
import { KEPLER_LINES } from "../../src/prometheus/kepler-metrics.js";
import { inventory } from "./fixtures.js";
import { monitoringRelease, tempDir, tool, type RuleGroup } from "./real-artifacts.js";

type Labels = Record<string, string>;
interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Labels;
  annotations: Labels;
}

/** The energy rule group exactly as the values sent to Helm carry it. */
function energyGroup(inv: ReturnType<typeof inventory>): { group: RuleGroup; rules: Record<string, Rule> } {
  const values = parse(monitoringRelease(inv).values);
  const group = values.additionalPrometheusRulesMap["powerstack-energy"].groups[0] as RuleGroup;
  return { group, rules: Object.fromEntries((group.rules as Rule[]).map((r) => [r.alert, r])) };
}

/** Prometheus' `{{ $labels.x }}` expanded, as Prometheus does when the alert fires; nothing else may remain. */
function annotations(rule: Rule, labels: Labels): Labels {
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([k, v]) => {
      const out = v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, l: string) => labels[l] ?? "");
      if (out.includes("{{")) throw new Error(`unexpanded template in ${rule.alert}.${k}: ${v}`);
      return [k, out];
    }),
  );
}

const series = (name: string, labels: Labels, values: string) => ({
  series: `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`,
  values,
});

interface Case {
  name: string;
  input: ReturnType<typeof series>[];
  alert: string;
  at: string;
  /** The node-label values the alert fires for (empty: it must not fire). */
  fires: Labels[];
}

/** One promtool unit-test file for the cases; returns promtool's verdict. */
async function promtoolTest(group: RuleGroup, rules: Record<string, Rule>, cases: Case[]) {
  const dir = tempDir("energy-alerts");
  writeFileSync(join(dir, "rules.yaml"), stringify({ groups: [group] }, { lineWidth: 0 }));
  const tests = cases.map((c) => {
    const rule = rules[c.alert];
    if (!rule) throw new Error(`no rule ${c.alert} in the rendered group`);
    return {
      name: c.name,
      interval: "1m",
      input_series: c.input,
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.fires.map((l) => {
            const labels = { ...rule.labels, ...l };
            return { exp_labels: labels, exp_annotations: annotations(rule, labels) };
          }),
        },
      ],
    };
  });
  const file = join(dir, "tests.yaml");
  writeFileSync(
    file,
    stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }, { lineWidth: 0 }),
  );
  return tool("promtool", ["test", "rules", file]);
}

// 1-minute samples for 40 minutes: `a+bx40`. 50 W = 3000 J/min; flat = +0.
const RISING = (base: number, watts: number) => `${base}+${watts * 60}x40`;
const FLAT = (v: number) => `${v}+0x40`;

describe("energy alerts, real artifacts (rendered rule group, real promtool test rules): current Kepler", () => {
  const line = KEPLER_LINES.current;
  // ctl has a BMC that Kepler reads, w1 has none.
  const { group, rules } = energyGroup(inventory({ flavour: "current", bmcs: ["ctl"] }));
  const cpu = (node: string, zone: string, values: string) =>
    series(line.nodeCpu.metric, { node_name: node, zone, path: `/sys/class/powercap/${zone}` }, values);
  const platform = (node: string, id: string, values: string) =>
    series(
      "kepler_platform_watts",
      {
        node_name: node,
        source: "redfish",
        bmc_id: `bmc-${node}`,
        chassis_id: "1",
        power_control_id: id,
        power_control_name: "Server Power Control",
      },
      values,
    );
  const up = (node: string, v: string) =>
    series("up", { job: "kepler", namespace: "kepler", instance: `${node}:28282`, pod: `kepler-${node}` }, v);

  test("the rendered group holds the three alerts, with the current line's series", () => {
    expect(Object.keys(rules)).toEqual(["KeplerTargetDown", "KeplerNoEnergyData", "KeplerNoPlatformPower"]);
    expect(rules.KeplerNoPlatformPower!.expr).toContain('node_name=~"ctl"');
  });

  test("each alert fires on its failure after `for:`, and stays silent on healthy series", async () => {
    const healthy = [
      cpu("ctl", "package", RISING(1000, 50)),
      cpu("ctl", "dram", RISING(100, 5)),
      cpu("w1", "package", RISING(500, 20)),
      platform("ctl", "PC1", FLAT(200)),
    ];
    const cases: Case[] = [
      // KeplerTargetDown (for 5m)
      {
        name: "target down 6m: fires",
        input: [up("ctl", FLAT(0)), up("w1", FLAT(1))],
        alert: "KeplerTargetDown",
        at: "6m",
        fires: [{ job: "kepler", namespace: "kepler", instance: "ctl:28282", pod: "kepler-ctl" }],
      },
      {
        name: "target down 4m: still pending",
        input: [up("ctl", FLAT(0))],
        alert: "KeplerTargetDown",
        at: "4m",
        fires: [],
      },
      {
        name: "targets up: silent",
        input: [up("ctl", FLAT(1)), up("w1", FLAT(1))],
        alert: "KeplerTargetDown",
        at: "30m",
        fires: [],
      },
      // KeplerNoEnergyData (rate over 10m == 0, for 15m): flat package counter on w1.
      {
        name: "flat package counter 17m: fires",
        input: [cpu("ctl", "package", RISING(1000, 50)), cpu("w1", "package", FLAT(500))],
        alert: "KeplerNoEnergyData",
        at: "17m",
        fires: [{ node_name: "w1" }],
      },
      {
        name: "flat package counter 14m: still pending",
        input: [cpu("w1", "package", FLAT(500))],
        alert: "KeplerNoEnergyData",
        at: "14m",
        fires: [],
      },
      { name: "rising counters: silent", input: healthy, alert: "KeplerNoEnergyData", at: "30m", fires: [] },
      // Only the package zone counts: a live core/dram zone does not hide a dead package counter.
      {
        name: "package flat, dram rising: fires",
        input: [cpu("w1", "package", FLAT(500)), cpu("w1", "dram", RISING(0, 5))],
        alert: "KeplerNoEnergyData",
        at: "20m",
        fires: [{ node_name: "w1" }],
      },
      // KeplerNoPlatformPower (for 15m): only ctl has a BMC.
      {
        name: "BMC node without platform gauge: fires for it, not for the node without BMC",
        input: [cpu("ctl", "package", RISING(1000, 50)), cpu("w1", "package", RISING(500, 20))],
        alert: "KeplerNoPlatformPower",
        at: "16m",
        fires: [{ node_name: "ctl" }],
      },
      {
        name: "BMC node reading 0 W: fires",
        input: [cpu("ctl", "package", RISING(1000, 50)), platform("ctl", "PC1", FLAT(0))],
        alert: "KeplerNoPlatformPower",
        at: "16m",
        fires: [{ node_name: "ctl" }],
      },
      {
        name: "BMC node without platform gauge 14m: still pending",
        input: [cpu("ctl", "package", RISING(1000, 50))],
        alert: "KeplerNoPlatformPower",
        at: "14m",
        fires: [],
      },
      {
        name: "BMC node with platform power: silent",
        input: healthy,
        alert: "KeplerNoPlatformPower",
        at: "30m",
        fires: [],
      },
      {
        name: "node without BMC and without platform power: silent",
        input: [cpu("w1", "package", RISING(500, 20))],
        alert: "KeplerNoPlatformPower",
        at: "30m",
        fires: [],
      },
    ];
    const r = await promtoolTest(group, rules, cases);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    process.stdout.write(`  promtool test rules (current): ${cases.length} cases: SUCCESS\n`);
  });
});

describe("energy alerts, real artifacts (rendered rule group, real promtool test rules): legacy Kepler", () => {
  const line = KEPLER_LINES.legacy;
  // w1 has a BMC that Kepler reads, ctl has none.
  const { group, rules } = energyGroup(inventory({ flavour: "legacy", bmcs: ["w1"] }));
  const node = (metric: string, n: string, mode: string, values: string) =>
    series(metric, { instance: n, package: "0", mode, source: "rapl-sysfs" }, values);
  const pkg = (n: string, mode: string, v: string) => node(line.nodeCpu.metric, n, mode, v);
  const plat = (n: string, mode: string, v: string) => node("kepler_node_platform_joules_total", n, mode, v);
  const up = (n: string, v: string) =>
    series("up", { job: "kepler", namespace: "kepler", instance: n, pod: `kepler-${n}` }, v);

  test("the rendered group holds the three alerts, with the legacy line's series", () => {
    expect(Object.keys(rules)).toEqual(["KeplerTargetDown", "KeplerNoEnergyData", "KeplerNoPlatformPower"]);
    expect(rules.KeplerNoPlatformPower!.expr).toContain('instance=~"w1"');
  });

  test("each alert fires on its failure after `for:`, and stays silent on healthy series", async () => {
    const healthy = [
      pkg("ctl", "dynamic", RISING(900, 35)),
      pkg("ctl", "idle", RISING(300, 15)),
      pkg("w1", "dynamic", RISING(500, 20)),
      plat("w1", "dynamic", RISING(5000, 150)),
      plat("w1", "idle", RISING(2000, 50)),
    ];
    const cases: Case[] = [
      {
        name: "target down 6m: fires",
        input: [up("w1", FLAT(0)), up("ctl", FLAT(1))],
        alert: "KeplerTargetDown",
        at: "6m",
        fires: [{ job: "kepler", namespace: "kepler", instance: "w1", pod: "kepler-w1" }],
      },
      {
        name: "targets up: silent",
        input: [up("w1", FLAT(1)), up("ctl", FLAT(1))],
        alert: "KeplerTargetDown",
        at: "30m",
        fires: [],
      },
      // dynamic + idle both flat: no energy.
      {
        name: "flat package counters 17m: fires",
        input: [
          pkg("ctl", "dynamic", FLAT(900)),
          pkg("ctl", "idle", FLAT(300)),
          pkg("w1", "dynamic", RISING(500, 20)),
        ],
        alert: "KeplerNoEnergyData",
        at: "17m",
        fires: [{ instance: "ctl" }],
      },
      {
        name: "flat package counters 14m: still pending",
        input: [pkg("ctl", "dynamic", FLAT(900))],
        alert: "KeplerNoEnergyData",
        at: "14m",
        fires: [],
      },
      // idle alone rising is energy: the modes add up.
      {
        name: "only idle rising: silent",
        input: [pkg("ctl", "dynamic", FLAT(900)), pkg("ctl", "idle", RISING(300, 15))],
        alert: "KeplerNoEnergyData",
        at: "30m",
        fires: [],
      },
      { name: "rising counters: silent", input: healthy, alert: "KeplerNoEnergyData", at: "30m", fires: [] },
      {
        name: "BMC node, platform counter absent: fires for it, not for the node without BMC",
        input: [pkg("ctl", "dynamic", RISING(900, 35)), pkg("w1", "dynamic", RISING(500, 20))],
        alert: "KeplerNoPlatformPower",
        at: "17m",
        fires: [{ instance: "w1" }],
      },
      {
        name: "BMC node, platform counter flat: fires",
        input: [pkg("w1", "dynamic", RISING(500, 20)), plat("w1", "dynamic", FLAT(5000))],
        alert: "KeplerNoPlatformPower",
        at: "17m",
        fires: [{ instance: "w1" }],
      },
      {
        name: "BMC node, platform counter flat 14m: still pending",
        input: [pkg("w1", "dynamic", RISING(500, 20)), plat("w1", "dynamic", FLAT(5000))],
        alert: "KeplerNoPlatformPower",
        at: "14m",
        fires: [],
      },
      {
        name: "BMC node with platform power: silent",
        input: healthy,
        alert: "KeplerNoPlatformPower",
        at: "30m",
        fires: [],
      },
      {
        name: "node without BMC, no platform counter: silent",
        input: [pkg("ctl", "dynamic", RISING(900, 35)), plat("ctl", "dynamic", FLAT(0))],
        alert: "KeplerNoPlatformPower",
        at: "30m",
        fires: [],
      },
    ];
    const r = await promtoolTest(group, rules, cases);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    process.stdout.write(`  promtool test rules (legacy): ${cases.length} cases: SUCCESS\n`);
  });
});
