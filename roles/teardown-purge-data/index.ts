/**
 * teardown-purge-data (control node): with `teardown --purge-data` only (the command leaves this role out
 * otherwise), the data filesystem on the inventory's storage disk is wiped, after teardown-storage has
 * unmounted it. Only powerstack's own filesystem (its type and label) on that one disk is ever wiped;
 * see src/modules/filesystem-wipe.ts for what "wipe" does and does not do.
 */
import type { Role } from "../../src/engine/role.js";
import type { TeardownListing } from "../../src/cli/teardown.js";
import { filesystemWipe } from "../../src/modules/filesystem-wipe.js";

export const role: Role & TeardownListing = {
  name: "teardown-purge-data",
  description: "--purge-data: WIPE the BTRFS data filesystem (only powerstack's own, only once unmounted)",
  removes: ({ inventory, node }) => [
    `WIPE the data filesystem "${inventory.cluster.dataLabel}" on ${node.storageDisk}: Prometheus history and Grafana state are destroyed`,
  ],
  tasks: ({ inventory, node, check }) => ({
    tasks: [
      {
        name: `data filesystem on ${node.storageDisk}`,
        module: filesystemWipe,
        params: {
          device: node.storageDisk!,
          fstype: "btrfs",
          label: inventory.cluster.dataLabel,
          // In check mode teardown-storage's unmount is only planned: report the wipe as it would happen.
          unmountedBefore: check ? inventory.cluster.dataPath : undefined,
        },
      },
    ],
  }),
};
