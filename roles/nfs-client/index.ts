/**
 * nfs-client (workers): the control node's data path mounted at the same path over NFSv4, from an fstab
 * entry that waits for the network (`_netdev`) and does not block boot when the server is down (`nofail`).
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { apt } from "../../src/modules/apt.js";
import type { NodeSpec } from "../../src/inventory/types.js";
import { mount, type MountParams } from "../../src/modules/mount.js";

export const NFS_MOUNT_OPTIONS = "_netdev,nofail,noatime,hard";

/** The workers' NFS mount of the control node's data path; teardown removes exactly this one. */
export function nfsMount(control: NodeSpec, dataPath: string, state: MountParams["state"]): MountParams {
  return {
    path: dataPath,
    source: { spec: `${control.internalIp}:${dataPath}` },
    fstype: "nfs4",
    options: NFS_MOUNT_OPTIONS,
    state,
  };
}

export const role: Role = {
  name: "nfs-client",
  description: "nfs-common and the control node's export mounted with an fstab entry that survives reboots",
  tasks: ({ inventory, control }) => {
    const { dataPath } = inventory.cluster;
    return {
      tasks: [
        task({ name: "NFS client package", module: apt, params: { names: ["nfs-common"] } }),
        task({
          name: `mount ${control.internalIp}:${dataPath}`,
          module: mount,
          params: nfsMount(control, dataPath, "mounted"),
          retries: 3,
          delaySec: 5,
        }),
      ],
    };
  },
};
