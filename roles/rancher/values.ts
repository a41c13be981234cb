/**
 * The Helm values powerstack sends for cert-manager and Rancher. Nothing secret in either: the bootstrap
 * password reaches Rancher through a Secret (release.ts, BOOTSTRAP_SECRET).
 */
import { stringify } from "yaml";
import type { Inventory } from "../../src/inventory/types.js";

/**
 * `crds.enabled`: the CRDs are part of the release, installed before the controller and upgraded with
 * the chart (cert-manager's documented Helm install); `crds.keep` stays at its default (true), so an
 * uninstall leaves them and with them every Certificate elsewhere in the cluster.
 */
export function certManagerValues(): string {
  return stringify({ crds: { enabled: true } });
}

/**
 * `hostname`: Rancher's Ingress host and the server URL it gives its agents. `replicas: 1`: the chart's 3
 * are for a highly available management plane; on an energy-measured research cluster every replica is
 * load on the nodes being measured, and the UI being down for a pod restart costs nothing.
 * `ingress.tls.source: rancher` (the chart's default, written out because it is why cert-manager is
 * installed): cert-manager signs the Ingress certificate with a CA Rancher generates.
 */
export function rancherValues(inventory: Inventory): string {
  const r = inventory.cluster.rancher;
  if (!r.hostname) throw new Error("rancherValues: cluster.rancher.hostname is required (load.ts checks it)");
  return stringify({
    hostname: r.hostname,
    replicas: 1,
    ingress: { tls: { source: "rancher" } },
  });
}
