/**
 * teardown-nfs-client (workers): the control node's export unmounted and its fstab entry removed, before
 * the export goes (the next play): a client whose server vanishes under a `hard` mount hangs on every
 * access and on shutdown (LAB-VM.md, reboot-order pitfall). The nfs-common package stays (it may serve
 * other mounts; removing a package is not undoing a configuration).
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { mount } from "../../src/modules/mount.js";
import { emptyDirAbsent } from "../../src/modules/empty-dir-absent.js";
import { nfsMount } from "../nfs-client/index.js";

export const role: Role = {
  name: "teardown-nfs-client",
  description: "NFS mount of the control node's data path and its fstab entry, removed",
  tasks: ({ inventory, control }) => {
    const { dataPath } = inventory.cluster;
    return {
      tasks: [
        task({
          name: `mount ${control.internalIp}:${dataPath}`,
          module: mount,
          params: nfsMount(control, dataPath, "absent"),
        }),
        task({ name: `mount point ${dataPath}`, module: emptyDirAbsent, params: { path: dataPath } }),
      ],
    };
  },
};
