/**
 * teardown-storage (control node): the data filesystem unmounted and its fstab entry removed. The
 * filesystem and its data STAY on the disk: the next `up` recognises it (same type and label), mounts it
 * again, and Prometheus finds its history. Wiping it is a separate role, enabled only by --purge-data.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { mount } from "../../src/modules/mount.js";
import { emptyDirAbsent } from "../../src/modules/empty-dir-absent.js";

export const role: Role = {
  name: "teardown-storage",
  description: "data filesystem unmounted and its fstab entry removed; the data on the disk stays",
  tasks: ({ inventory, node }) => {
    const { dataPath } = inventory.cluster;
    return {
      tasks: [
        task({
          name: `mount ${dataPath}`,
          module: mount,
          params: {
            path: dataPath,
            source: { device: node.storageDisk! },
            fstype: "btrfs",
            options: "defaults,noatime",
            state: "absent",
          },
        }),
        task({ name: `mount point ${dataPath}`, module: emptyDirAbsent, params: { path: dataPath } }),
      ],
    };
  },
};
