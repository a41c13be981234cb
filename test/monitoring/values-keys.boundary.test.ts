/**
 * Every key path of the values powerstack sends, and of the inventory's `extra_values`, exists in the pinned
 * chart's own default values (charts/<chart>-<version>/, shipped with powerstack), for every variant: with
 * and without Slack, both Kepler lines, with and without Redfish. Helm would silently ignore a key it does
 * not know. The shipped defaults are checked against the packaged charts themselves (the shared reference
 * set); what the real Helm renders from these values is tested in *.real.test.ts.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, test } from "vitest";
import { chartDefaults, chartsDir } from "../../src/charts/defaults.js";
import { unknownPaths } from "../../src/charts/key-paths.js";
import {
  KEPLER_CURRENT_RULES,
  KEPLER_LEGACY_RULES,
  KUBE_PROMETHEUS_STACK_RULES,
} from "../../src/charts/rules.js";
import { DEFAULTS } from "../../src/inventory/schema.js";
import { InventoryError } from "../../src/inventory/load.js";
import { monitoringValues } from "../../roles/monitoring/values.js";
import { redfishPlan } from "../../roles/kepler/redfish.js";
import { keplerValues } from "../../roles/kepler/values.js";
import { CHART_FILES, chartPath, requireCharts, type PinnedChart } from "../support/real-helm.js";
import { inventory } from "./fixtures.js";

const kps = () => chartDefaults("kube-prometheus-stack", DEFAULTS.monitoringChartVersion)!;
const kepler = (flavour: "current" | "legacy") =>
  chartDefaults("kepler", DEFAULTS.keplerChartVersion[flavour])!;

describe("values key paths exist in the pinned charts' defaults", () => {
  test.each([
    ["with Slack", true],
    ["without Slack", false],
  ])("kube-prometheus-stack values, %s", (_n, slack) => {
    const inv = inventory({ slack });
    const values = parse(monitoringValues(inv, ["ctl", "w1"]));
    expect(unknownPaths(values, kps(), KUBE_PROMETHEUS_STACK_RULES)).toEqual([]);
  });

  test.each([
    ["current, Redfish on", "current", ["ctl", "w1"]],
    ["current, no BMC", "current", []],
    ["legacy, Redfish on one node", "legacy", ["ctl"]],
    ["legacy, no BMC", "legacy", []],
  ] as const)("Kepler values, %s", (_n, flavour, bmcs) => {
    const inv = inventory({ flavour, bmcs: [...bmcs] });
    const values = parse(keplerValues(inv, redfishPlan(inv)));
    expect(
      unknownPaths(
        values,
        kepler(flavour),
        flavour === "current" ? KEPLER_CURRENT_RULES : KEPLER_LEGACY_RULES,
      ),
    ).toEqual([]);
  });

  test("the check catches a misspelt key, a key under a scalar, and a free-form parent that moved", () => {
    expect(
      unknownPaths(
        {
          prometheus: {
            prometheusSpec: { serviceMonitorSelectorNilUsesHelmValue: false, retention: { x: 1 } },
          },
          grafana: { persistence: { existingClaim: "x" } },
        },
        kps(),
        KUBE_PROMETHEUS_STACK_RULES,
      ),
    ).toEqual([
      "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValue: not in the chart's values",
      "prometheus.prometheusSpec.retention.x: parent prometheus.prometheusSpec.retention is not a map in the chart's values",
    ]);
    expect(
      unknownPaths({ prometheus: { storage: { a: 1 } } }, kps(), {
        freeForm: { "prometheus.storage": "moved" },
        unlisted: {},
      }),
    ).toEqual(["prometheus.storage.a: free-form parent prometheus.storage is not in the chart's values"]);
  });

  describe.skipIf(!requireCharts())("the shipped defaults are the packaged charts' own files", () => {
    test.each(Object.entries(CHART_FILES) as Array<[PinnedChart, string]>)("%s (%s)", (chart, file) => {
      const dir = join(chartsDir(), file.replace(/\.tgz$/, ""));
      const tar = (...args: string[]) =>
        execFileSync("tar", [...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      const inside = tar("tzf", chartPath(chart))
        .split("\n")
        .filter((p) => /(^|\/)(values|Chart)\.yaml$/.test(p) && !p.includes("/ci/"));
      expect(inside.length).toBeGreaterThan(1);
      for (const p of inside) {
        const shipped = readFileSync(join(dir, p.split("/").slice(1).join("/")), "utf8");
        expect(shipped, p).toBe(tar("xzOf", chartPath(chart), p));
      }
    });
  });
});

describe("extra_values: user values merged last, each key checked against the pinned chart", () => {
  test("merged over powerstack's values: maps key by key, scalars and lists replaced", () => {
    const inv = inventory({
      monitoringExtra:
        "    extra_values:\n      prometheus: { prometheusSpec: { retention: 90d } }\n      grafana: { image: { tag: 12.1.0 } }\n",
    });
    const values = parse(monitoringValues(inv, []));
    expect(values.prometheus.prometheusSpec.retention).toBe("90d");
    // powerstack's siblings survive the merge.
    expect(values.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues).toBe(false);
    expect(values.grafana.image.tag).toBe("12.1.0");
    expect(values.grafana.admin.existingSecret).toBe("grafana-admin");
  });

  test("Kepler: image tag and (legacy) extra environment variables, as the original setup set them", () => {
    const cur = inventory({ keplerExtra: "extra_values: { image: { tag: v0.11.5 } }" });
    expect(parse(keplerValues(cur, redfishPlan(cur))).image.tag).toBe("v0.11.5");
    const leg = inventory({
      flavour: "legacy",
      keplerExtra: 'extra_values: { image: { tag: release-0.7.11 }, extraEnvVars: { ENABLE_GPU: "true" } }',
    });
    const values = parse(keplerValues(leg, redfishPlan(leg)));
    expect(values.image.tag).toBe("release-0.7.11");
    expect(values.extraEnvVars).toMatchObject({
      ENABLE_GPU: "true",
      REDFISH_PROBE_INTERVAL_IN_SECONDS: "60",
    });
  });

  test("an unknown key is an inventory error at its line, naming the chart version and the fix", () => {
    let err: InventoryError | undefined;
    try {
      inventory({
        monitoringExtra: "    extra_values:\n      prometheus: { prometheusSpec: { retension: 90d } }\n",
        keplerExtra: "extra_values: { daemonset: { tolerationz: [] } }",
      });
    } catch (e) {
      err = e as InventoryError;
    }
    expect(err).toBeInstanceOf(InventoryError);
    const text = err!.message;
    expect(text).toMatch(
      /:\d+:\d+: cluster\.monitoring\.extra_values\.prometheus\.prometheusSpec\.retension: `prometheus\.prometheusSpec\.retension` is not a value of kube-prometheus-stack 88\.5\.3/,
    );
    expect(text).toMatch(/helm show values kube-prometheus-stack --version 88\.5\.3/);
    expect(text).toMatch(/cluster\.kepler\.extra_values\.daemonset\.tolerationz: .* kepler 0\.11\.4/);
  });

  test("a chart version powerstack has no defaults for cannot be checked: refused with the fix", () => {
    expect(() =>
      inventory({ keplerVersion: "0.11.9", keplerExtra: "extra_values: { image: { tag: x } }" }),
    ).toThrow(/ships the default values of kepler only for the versions it pins, not 0\.11\.9/);
  });
});
