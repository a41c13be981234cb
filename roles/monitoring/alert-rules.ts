/**
 * Energy alert rules, for the Kepler line in use: the PromQL and the label names differ between lines
 * (src/prometheus/kepler-metrics.ts), the rules do not. Rendered by templates/energy-alert-rules.yaml.hbs
 * into kube-prometheus-stack's `additionalPrometheusRulesMap`.
 */
import { parse } from "yaml";
import type { Inventory } from "../../src/inventory/types.js";
import { KEPLER_LINES, selector } from "../../src/prometheus/kepler-metrics.js";
import { renderTemplate } from "../../src/templates/render.js";

export const RULES_NAME = "powerstack-energy";

export interface AlertRulesContext {
  keplerUp: string;
  noEnergy: { expr: string; summary: string; description: string };
  /** Only when Kepler reads BMCs (Redfish): nodes with a BMC but no platform power. */
  platform?: { expr: string; summary: string; description: string };
}

/** Nodes whose BMC Kepler reads; empty when Redfish is off for the cluster. */
export function alertRulesContext(inventory: Inventory, redfishNodes: string[]): AlertRulesContext {
  const line = KEPLER_LINES[inventory.cluster.kepler.flavour];
  const node = line.nodeLabel;
  // Prometheus' own template syntax, kept out of Handlebars by passing it as data.
  const on = `{{ $labels.${node} }}`;
  const bmcNodes = redfishNodes.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const onBmcNodes = `${node}=~"${bmcNodes}"`;
  const p = line.nodePlatform;
  const bmcCpu = selector({
    ...line.nodeCpu,
    matchers: [line.nodeCpu.matchers, onBmcNodes].filter(Boolean).join(", "),
  });
  return {
    keplerUp: 'up{job=~".*kepler.*"} == 0',
    noEnergy: {
      expr: `sum by (${node}) (rate(${selector(line.nodeCpu)}[10m])) == 0`,
      summary: `Kepler reports no CPU energy on ${on}`,
      description:
        "A Kepler pod that runs but exports zero energy is a known failure (kepler issues #1580, #959): check " +
        "that the pod is privileged, kernel.perf_event_paranoid is -1 on the node, and the Kepler logs.",
    },
    platform: redfishNodes.length
      ? {
          // Fires for a node Kepler reports (its CPU series is there) whose BMC gives no platform power,
          // whether the platform series is missing or flat/zero (a powered server never draws 0 W). Only
          // nodes whose BMC Kepler reads are watched; a node without a BMC never fires.
          expr:
            p.kind === "counter"
              ? `sum by (${node}) (rate(${bmcCpu}[10m])) unless (sum by (${node}) (rate(${p.metric}{${onBmcNodes}}[10m])) > 0)`
              : `count by (${node}) (${bmcCpu}) unless count by (${node}) (${p.metric} > 0)`,
          summary: `No platform (BMC) power from ${on}`,
          description:
            "Kepler reads this node's BMC over Redfish but exports no platform power: check the BMC with " +
            "`powerstack up --only redfish` and the Kepler logs for Redfish errors.",
        }
      : undefined,
  };
}

/** The `additionalPrometheusRulesMap` value: one PrometheusRule of energy alerts. */
export function alertRulesMap(ctx: AlertRulesContext): Record<string, unknown> {
  return { [RULES_NAME]: parse(renderTemplate("energy-alert-rules.yaml.hbs", ctx)) };
}
