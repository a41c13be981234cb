/**
 * BOUNDARY: no chart can be rendered here (no Helm, no cluster), so every key path of the values powerstack
 * renders is checked against the charts' own default values (test/monitoring/upstream-values/), for every
 * variant: with and without Slack, both Kepler lines, with and without Redfish.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, test } from "vitest";
import { monitoringValues } from "../../roles/monitoring/values.js";
import { redfishPlan } from "../../roles/kepler/redfish.js";
import { keplerValues } from "../../roles/kepler/values.js";
import { inventory } from "./fixtures.js";
import {
  kubePrometheusStackUpstream,
  unknownPaths,
  upstream,
  UPSTREAM_DIR,
  type KeyRules,
} from "./upstream-keys.js";

const KPS_RULES: KeyRules = {
  freeForm: {
    additionalPrometheusRulesMap:
      "map of PrometheusRule name -> {groups}, rendered with toYaml (values comment)",
    "prometheus.prometheusSpec.storageSpec":
      "the operator's StorageSpec, passed through; the values file shows volumeClaimTemplate as a comment",
    "alertmanager.alertmanagerSpec.storage": "the operator's StorageSpec, as for Prometheus",
  },
  unlisted: {
    "grafana.persistence.existingClaim": {
      commented: true,
      evidence: "grafana values: `# existingClaim:` (Name of an existing PVC)",
    },
    "grafana.service.nodePort": {
      commented: false,
      evidence: "REFERENCE.md NodePorts row; the grafana chart's service template reads service.nodePort",
    },
  },
};

const KEPLER_CURRENT_RULES: KeyRules = {
  freeForm: {
    "serviceMonitor.labels": "labels map added to the ServiceMonitor (templates/servicemonitor.yaml)",
  },
  unlisted: {
    "config.experimental.platform.redfish.httpTimeout": {
      commented: false,
      evidence:
        "Kepler's Redfish doc (experimental/redfish: httpTimeout, default 5s); templates/configmap.yaml renders .Values.config verbatim",
    },
  },
};

const KEPLER_LEGACY_RULES: KeyRules = {
  freeForm: { "serviceMonitor.labels": "labels map added to the ServiceMonitor" },
  unlisted: {
    "extraEnvVars.REDFISH_PROBE_INTERVAL_IN_SECONDS": {
      commented: true,
      evidence: 'values: `# REDFISH_PROBE_INTERVAL_IN_SECONDS: "60"`',
    },
    "extraEnvVars.REDFISH_SKIP_SSL_VERIFY": {
      commented: true,
      evidence: 'values: `# REDFISH_SKIP_SSL_VERIFY: "true"`',
    },
  },
};

describe("values key paths exist upstream (boundary)", () => {
  test.each([
    ["with Slack", true],
    ["without Slack", false],
  ])("kube-prometheus-stack values, %s", (_n, slack) => {
    const inv = inventory({ slack });
    const values = parse(monitoringValues(inv, ["ctl", "w1"]));
    expect(unknownPaths(values, kubePrometheusStackUpstream(), KPS_RULES)).toEqual([]);
  });

  test.each([
    ["current, Redfish on", "current", ["ctl", "w1"]],
    ["current, no BMC", "current", []],
    ["legacy, Redfish on one node", "legacy", ["ctl"]],
    ["legacy, no BMC", "legacy", []],
  ] as const)("Kepler values, %s", (_n, flavour, bmcs) => {
    const inv = inventory({ flavour, bmcs: [...bmcs] });
    const values = parse(keplerValues(inv, redfishPlan(inv)));
    const up = flavour === "current" ? upstream("kepler.values.yaml") : upstream("kepler-legacy.values.yaml");
    expect(
      unknownPaths(values, up, flavour === "current" ? KEPLER_CURRENT_RULES : KEPLER_LEGACY_RULES),
    ).toEqual([]);
  });

  test("the check catches a misspelt key, a key under a scalar, and a free-form parent that moved", () => {
    const up = kubePrometheusStackUpstream();
    expect(
      unknownPaths(
        {
          prometheus: {
            prometheusSpec: { serviceMonitorSelectorNilUsesHelmValue: false, retention: { x: 1 } },
          },
          grafana: { persistence: { existingClaim: "x" } },
        },
        up,
        KPS_RULES,
      ),
    ).toEqual([
      "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValue: not in the chart's values",
      "prometheus.prometheusSpec.retention.x: parent prometheus.prometheusSpec.retention is not a map in the chart's values",
    ]);
    expect(
      unknownPaths({ prometheus: { storage: { a: 1 } } }, up, {
        freeForm: { "prometheus.storage": "moved" },
        unlisted: {},
      }),
    ).toEqual(["prometheus.storage.a: free-form parent prometheus.storage is not in the chart's values"]);
  });

  test("the vendored upstream files are the shared reference copies, unmodified", () => {
    const shared = "/work/shared/reference/charts";
    for (const f of [
      "kube-prometheus-stack.values.yaml",
      "grafana.values.yaml",
      "kepler.values.yaml",
      "kepler-legacy.values.yaml",
    ]) {
      let ref: string;
      try {
        ref = readFileSync(join(shared, f), "utf8");
      } catch {
        continue; // the shared reference set exists only in the project's workspace
      }
      expect(readFileSync(join(UPSTREAM_DIR, f), "utf8")).toBe(ref);
    }
  });
});
