/**
 * teardown-purge-data (control node): with `teardown --purge-data` only (the command leaves this role out
 * otherwise), the data filesystem on the inventory's storage disk is wiped, after teardown-storage has
 * unmounted it. Only powerstack's own filesystem (its type and label) on that one disk is ever wiped;
 * see src/modules/filesystem-wipe.ts for what "wipe" does and does not do.
 */
import type { Role } from "../../src/engine/role.js";
import { task } from "../../src/engine/types.js";
import { filesystemWipe } from "../../src/modules/filesystem-wipe.js";

export const role: Role = {
  name: "teardown-purge-data",
  description: "--purge-data: WIPE the BTRFS data filesystem (only powerstack's own, only once unmounted)",
  tasks: ({ inventory, node }) => ({
    tasks: [
      task({
        name: `data filesystem on ${node.storageDisk}`,
        module: filesystemWipe,
        params: {
          device: node.storageDisk!,
          fstype: "btrfs",
          label: inventory.cluster.dataLabel,
          // teardown-storage unmounts it first (only planned, in --check): the wipe still re-checks on the node.
          unmountedBefore: inventory.cluster.dataPath,
        },
      }),
    ],
  }),
};
