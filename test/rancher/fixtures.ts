/** Inventories with Rancher on or off, and the vendored charts the rancher role pins. */
import { join } from "node:path";
import { parseInventory } from "../../src/inventory/load.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import { CERT_MANAGER_VERSION } from "../../roles/rancher/release.js";
import { DEFAULTS } from "../../src/inventory/schema.js";
import { INVENTORY_FILE, MINIMAL_INVENTORY } from "../support/minimal-inventory.js";

export const VENDOR_CHARTS = join(packageRoot(), "vendor", "charts");
export const CERT_MANAGER_TGZ = join(VENDOR_CHARTS, `cert-manager-${CERT_MANAGER_VERSION}.tgz`);
export const RANCHER_TGZ = join(VENDOR_CHARTS, `rancher-${DEFAULTS.rancherVersion}.tgz`);

export const HOSTNAME = "rancher.198.51.100.10.sslip.io";
export const BOOTSTRAP_KEY = "rancher_bootstrap_password";
/** A recognisable value: it must appear nowhere but in the Secret's data (base64) sent on stdin. */
export const BOOTSTRAP_PASSWORD = "s3cret-Rancher-bootstrap-7f41";

/** MINIMAL_INVENTORY with a `cluster.rancher` block (`block`: its inner YAML, one line). */
export const withRancher = (block: string) =>
  MINIMAL_INVENTORY.replace("cluster:\n", `cluster:\n  rancher: ${block}\n`);

export function rancherInventory(extra = ""): Inventory {
  return parseInventory(withRancher(`{ enabled: true, hostname: ${HOSTNAME}${extra} }`), INVENTORY_FILE);
}

export const plainInventory = (): Inventory => parseInventory(MINIMAL_INVENTORY, INVENTORY_FILE);
