/**
 * teardown-storage (control node): the data filesystem unmounted and its fstab entry removed. The
 * filesystem and its data STAY on the disk: the next `up` recognises it (same type and label), mounts it
 * again, and Prometheus finds its history. Wiping it is a separate role, enabled only by --purge-data.
 */
import type { Role } from "../../src/engine/role.js";
import type { TeardownListing } from "../../src/cli/teardown.js";
import { mount } from "../../src/modules/mount.js";
import { emptyDirAbsent } from "../../src/modules/empty-dir-absent.js";

export const role: Role & TeardownListing = {
  name: "teardown-storage",
  description: "data filesystem unmounted and its fstab entry removed; the data on the disk stays",
  removes: ({ inventory, node }) => [
    `${inventory.cluster.dataPath} mount and its fstab entry (the data on ${node.storageDisk ?? "the disk"} stays)`,
  ],
  tasks: ({ inventory, node }) => {
    const { dataPath } = inventory.cluster;
    return {
      tasks: [
        {
          name: `mount ${dataPath}`,
          module: mount,
          params: {
            path: dataPath,
            source: { device: node.storageDisk! },
            fstype: "btrfs",
            options: "defaults,noatime",
            state: "absent",
          },
        },
        { name: `mount point ${dataPath}`, module: emptyDirAbsent, params: { path: dataPath } },
      ],
    };
  },
};
