/**
 * teardown-nfs-server (control node): the export of the data path removed from /etc/exports, and
 * `exportfs -ra` run (a handler: only when the line was there). It runs in a play of its own, before the
 * storage teardown: an exported filesystem cannot be unmounted, and handlers run at the end of a play.
 * The nfs-kernel-server package and service stay: other exports may use them.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { command } from "../../src/modules/command.js";
import { lineInFile } from "../../src/modules/line-in-file.js";
import { exportLine } from "../nfs-server/index.js";

export const role: Role = {
  name: "teardown-nfs-server",
  description: "NFS export of the data path removed; exportfs -ra only when it was there",
  tasks: ({ inventory }) => {
    const { dataPath, nfsNetwork } = inventory.cluster;
    const escaped = dataPath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return {
      tasks: [
        task({
          name: `export ${dataPath}`,
          module: lineInFile,
          // Any export of the data path, whatever network or options it carries: up would have replaced it too.
          params: {
            path: "/etc/exports",
            line: exportLine(dataPath, nfsNetwork),
            match: new RegExp(`^${escaped}\\s`),
            state: "absent",
          },
          notify: ["reload exports"],
        }),
      ],
      handlers: [
        task({
          name: "reload exports",
          module: command,
          params: { cmd: "exportfs -ra", removes: "/usr/sbin/exportfs", summary: "exportfs -ra" },
        }),
      ],
    };
  },
};
