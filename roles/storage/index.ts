/**
 * storage (control node): the inventory's disk becomes one BTRFS filesystem, only when that is safe
 * (see src/modules/filesystem.ts), mounted at the data path by UUID, with one directory per service
 * owned by the user its chart runs as.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import type { MonitoringService } from "../../src/inventory/types.js";
import { apt } from "../../src/modules/apt.js";
import { file } from "../../src/modules/file.js";
import { filesystem } from "../../src/modules/filesystem.js";
import { mount } from "../../src/modules/mount.js";

/**
 * uid:gid each chart's pod writes as: kube-prometheus-stack runs Prometheus and Alertmanager as
 * 1000:2000 (securityContext runAsUser/fsGroup), Grafana as 472:472.
 */
export const SERVICE_OWNERS: Record<MonitoringService, { owner: string; group: string }> = {
  prometheus: { owner: "1000", group: "2000" },
  alertmanager: { owner: "1000", group: "2000" },
  grafana: { owner: "472", group: "472" },
};

export const role: Role = {
  name: "storage",
  description:
    "BTRFS data filesystem on the control node's empty disk, mounted by UUID, per-service directories",
  tasks: ({ inventory, node, allowFormat }) => {
    const { dataPath, dataLabel } = inventory.cluster;
    const disk = node.storageDisk!;
    return {
      tasks: [
        task({ name: "btrfs tools", module: apt, params: { names: ["btrfs-progs"] } }),
        task({
          name: `BTRFS filesystem on ${disk}`,
          module: filesystem,
          params: { device: disk, fstype: "btrfs", label: dataLabel, allowFormat },
        }),
        task({
          name: `mount ${dataPath}`,
          module: mount,
          params: {
            path: dataPath,
            source: { device: disk },
            fstype: "btrfs",
            options: "defaults,noatime",
            state: "mounted",
          },
        }),
        ...(
          Object.entries(SERVICE_OWNERS) as Array<[MonitoringService, { owner: string; group: string }]>
        ).map(([svc, o]) =>
          task({
            name: `${dataPath}/${svc}`,
            module: file,
            params: { path: `${dataPath}/${svc}`, state: "directory" as const, mode: "0775", ...o },
          }),
        ),
      ],
    };
  },
};
