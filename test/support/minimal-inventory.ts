/**
 * The smallest valid inventory, which the inventory tests break one thing at a time (the line numbers they
 * expect refer to this text), and the error parsing a broken one must give.
 */
import { expect } from "vitest";
import { InventoryError, parseInventory } from "../../src/inventory/load.js";

/** The path the tests parse their inventory text as: every problem must name it. */
export const INVENTORY_FILE = "/srv/inv.yaml";

/** The cluster and its control node; the node's last line is `storage_disk`, so a test can add keys under it. */
export const CONTROL_NODE_INVENTORY = `cluster:
  nfs_network: 198.51.100.0/24
nodes:
  - name: ctl
    role: control
    internal_ip: 198.51.100.10
    storage_disk: /dev/vdb
`;

/** A control node and a worker. */
export const MINIMAL_INVENTORY = `${CONTROL_NODE_INVENTORY}  - name: w1
    role: worker
    internal_ip: 198.51.100.11
`;

/** The InventoryError that parsing `text` (as INVENTORY_FILE) throws; fails the test when it parses. */
export function rejection(text: string): InventoryError {
  try {
    parseInventory(text, INVENTORY_FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(InventoryError);
    return err as InventoryError;
  }
  throw new Error("expected the inventory to be rejected");
}
