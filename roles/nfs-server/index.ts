/**
 * nfs-server (control node): the kernel NFS server exporting the data path to the internal network
 * only. `exportfs -ra` runs as a handler: only when /etc/exports changed, never on a rerun.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { apt } from "../../src/modules/apt.js";
import { command } from "../../src/modules/command.js";
import { lineInFile } from "../../src/modules/line-in-file.js";
import { service } from "../../src/modules/service.js";

/** no_root_squash: the chart pods chown their directories at start; rw,sync for a database (Prometheus). */
export const EXPORT_OPTIONS = "rw,sync,no_subtree_check,no_root_squash";

export function exportLine(path: string, network: string): string {
  return `${path} ${network}(${EXPORT_OPTIONS})`;
}

export const role: Role = {
  name: "nfs-server",
  description: "nfs-kernel-server exporting the data path to the internal network",
  tasks: ({ inventory }) => {
    const { dataPath, nfsNetwork } = inventory.cluster;
    const escaped = dataPath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return {
      tasks: [
        task({ name: "NFS server package", module: apt, params: { names: ["nfs-kernel-server"] } }),
        task({
          name: `export ${dataPath}`,
          module: lineInFile,
          params: {
            path: "/etc/exports",
            line: exportLine(dataPath, nfsNetwork),
            match: new RegExp(`^${escaped}\\s`),
            mode: "0644",
          },
          notify: ["reload exports"],
        }),
        task({
          name: "nfs-server service",
          module: service,
          params: { name: "nfs-server", enabled: true, state: "started" },
        }),
      ],
      handlers: [
        task({
          name: "reload exports",
          module: command,
          params: { cmd: "exportfs -ra", summary: "exportfs -ra" },
        }),
      ],
    };
  },
};
