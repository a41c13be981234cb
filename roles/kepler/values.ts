/**
 * The contexts of Kepler's values, post-renderer and patch templates, for either Kepler line (REFERENCE.md:
 * the two lines differ in chart, key paths and credential file).
 */
import type { Inventory } from "../../src/inventory/types.js";
import { KUBECTL } from "../../src/modules/kube-apply.js";
import { parseDuration } from "../../src/prometheus/window.js";
import { withExtraValues } from "../../src/charts/extra-values.js";
import { renderTemplate } from "../../src/templates/render.js";
import { MONITORING_RELEASE } from "../monitoring/release.js";
import {
  KEPLER_DAEMONSET,
  REDFISH_CONFIG_FILE,
  REDFISH_KEY,
  REDFISH_MOUNT_DIR,
  REDFISH_SECRET,
} from "./release.js";
import { legacySkipVerify, type RedfishPlan } from "./redfish.js";

export interface KeplerValuesContext {
  chartVersion: string;
  scrapeInterval: string;
  /** Legacy chart only (its default is 5s): never above the interval, which Prometheus would refuse. */
  scrapeTimeout: string;
  monitoringRelease: string;
  redfish?: { secret: string; key: string; configFile: string; skipVerify: string };
}

/**
 * The legacy chart's ServiceMonitor sets `scrapeTimeout: 5s` by default; with a shorter scrape interval
 * Prometheus rejects the whole scrape config ("scrape timeout greater than scrape interval") and Kepler is
 * never scraped. The timeout is the chart's 5s, or the interval when that is shorter.
 */
export function scrapeTimeout(interval: string): string {
  return parseDuration(interval, "cluster.monitoring.scrape_interval") < 5000 ? interval : "5s";
}

export function keplerValuesContext(inv: Inventory, plan: RedfishPlan): KeplerValuesContext {
  const { kepler, monitoring } = inv.cluster;
  return {
    chartVersion: kepler.chartVersion,
    scrapeInterval: monitoring.scrapeInterval,
    scrapeTimeout: scrapeTimeout(monitoring.scrapeInterval),
    monitoringRelease: MONITORING_RELEASE,
    redfish: plan.enabled
      ? {
          secret: REDFISH_SECRET,
          key: REDFISH_KEY[kepler.flavour],
          configFile: REDFISH_CONFIG_FILE,
          skipVerify: String(legacySkipVerify(plan)),
        }
      : undefined,
  };
}

export const keplerValues = (inv: Inventory, plan: RedfishPlan) =>
  withExtraValues(
    renderTemplate(`kepler-${inv.cluster.kepler.flavour}.values.yaml.hbs`, keplerValuesContext(inv, plan)),
    inv.cluster.kepler.extraValues,
    "cluster.kepler.extra_values",
  );

/** The post-renderer (script and patch), needed only when Kepler reads BMCs. */
export function postRenderFiles(inv: Inventory): { script: string; patch: string } {
  const { flavour, namespace } = inv.cluster.kepler;
  return {
    script: renderTemplate("kepler-post-render.sh.hbs", { kubectl: KUBECTL }),
    patch: renderTemplate(`kepler-${flavour}.patch.yaml.hbs`, {
      daemonSet: KEPLER_DAEMONSET,
      namespace,
      secret: REDFISH_SECRET,
      mountDir: REDFISH_MOUNT_DIR,
    }),
  };
}
