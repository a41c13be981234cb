/**
 * kernel (all nodes): `kernel.perf_event_paranoid` for Kepler's eBPF and hardware counters, persistent
 * in a sysctl drop-in and live.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { apt } from "../../src/modules/apt.js";
import { sysctl } from "../../src/modules/sysctl.js";

export const SYSCTL_DROP_IN = "/etc/sysctl.d/90-powerstack.conf";

export const role: Role = {
  name: "kernel",
  description: "kernel.perf_event_paranoid (default -1) persistently and live",
  tasks: ({ inventory }) => ({
    tasks: [
      task({ name: "sysctl tools", module: apt, params: { names: ["procps"] } }),
      task({
        name: "kernel.perf_event_paranoid",
        module: sysctl,
        params: {
          name: "kernel.perf_event_paranoid",
          value: String(inventory.cluster.perfEventParanoid),
          file: SYSCTL_DROP_IN,
        },
      }),
    ],
  }),
};
