/**
 * Inventories, vault and role contexts for the monitoring-layer boundary tests. Every test secret is a
 * distinct, greppable string, so a test can prove it never appears in a command line.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Facts } from "../../src/engine/facts.js";
import type { RoleContext } from "../../src/engine/role.js";
import { parseInventory } from "../../src/inventory/load.js";
import type { Inventory } from "../../src/inventory/types.js";

export const VAULT: Record<string, string> = {
  grafana_admin_password: "graf-Adm1n-s3cret-pw",
  slack_webhook: "https://hooks.slack.com/services/T000/B000/s3cretWebhookToken",
  bmc_ctl: "bmc-ctl-Pa55word",
  bmc_w1: "bmc-w1-Pa55word",
  k3s_token: "K10-token-not-used-here",
};

export const SECRETS = () => Object.values(VAULT);

const dir = mkdtempSync(join(tmpdir(), "powerstack-monitoring-"));

export interface InventoryOptions {
  flavour?: "current" | "legacy";
  slack?: boolean;
  /** Which nodes get a BMC (default both). */
  bmcs?: Array<"ctl" | "w1">;
  /** cluster.kepler.chart_version (default: the pinned one of the flavour). */
  keplerVersion?: string;
  monitoringExtra?: string;
  /** More keys inside `cluster.kepler: { ... }`, e.g. `extra_values: {...}`. */
  keplerExtra?: string;
  clusterExtra?: string;
}

export function inventory(o: InventoryOptions = {}): Inventory {
  const bmcs = o.bmcs ?? ["ctl", "w1"];
  const bmc = (n: "ctl" | "w1") =>
    bmcs.includes(n)
      ? `, bmc: { address: "https://203.0.113.${n === "ctl" ? 10 : 11}/", username: USERID, password_secret: bmc_${n}${n === "ctl" ? ", insecure: true" : ""} }`
      : "";
  return parseInventory(
    `cluster:
  nfs_network: 198.51.100.0/24
  data_path: /mnt/data
  volumes:
    prometheus: { size: 60Gi, claim: 55Gi }
    grafana: { size: 8Gi }
    alertmanager: { size: 4Gi, claim: 3Gi }
  node_ports: { prometheus: 31090, grafana: 31030, alertmanager: 31093 }
  monitoring:
    retention: 30d
    scrape_interval: 15s
    grafana_admin_user: boss
${o.slack === false ? "" : '    slack_webhook_secret: slack_webhook\n    slack_channel: "#energy"\n'}${o.monitoringExtra ?? ""}
  kepler: { flavour: ${o.flavour ?? "current"}${o.keplerVersion ? `, chart_version: "${o.keplerVersion}"` : ""}${o.keplerExtra ? `, ${o.keplerExtra}` : ""} }
  carbon: { grid_intensity_g_per_kwh: 380 }
${o.clusterExtra ?? ""}
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb${bmc("ctl")} }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, external_ip: 192.0.2.11${bmc("w1")} }
`,
    join(dir, "inventory.yaml"),
  );
}

export function roleContext(inv: Inventory, vault: Record<string, string> = VAULT): RoleContext {
  const control = inv.nodes.find((n) => n.role === "control")!;
  return {
    inventory: inv,
    node: control,
    control,
    facts: { arch: "x86_64" } as Facts,
    // The roles of these tests list their tasks without reading the node first.
    read: async (ref) => {
      throw new Error(`roleContext: the role read the fact ${ref.key} while listing its tasks`);
    },
    secret: (k) => {
      if (!(k in vault)) throw new Error(`vault has no ${k}`);
      return vault[k]!;
    },
    hasSecret: (k) => k in vault,
    storeSecret: async () => {},
  };
}
