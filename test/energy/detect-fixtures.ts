/**
 * Backfill for the Kepler-line detection tests: the energy fixtures (fixtures.ts: a current-only window
 * at T, a legacy-only window at TL) plus a window at TM where both lines run at once, as in a migration
 * from the legacy line to the current one. Samples every 10 s over [TM, TM+600]; the test window is
 * [TM+100, TM+400] (300 s, both edges on samples: increase() = rate x 300 s exactly).
 *
 * - node-m1: current only. CPU package 40 J/s (12000 J), DRAM 4 J/s (1200 J), platform gauge 150 W (45000 J).
 * - node-m2: legacy only. CPU package dynamic 25 + idle 5 J/s (9000 J), DRAM 2 J/s (600 J), platform
 *   counter 100 J/s (30000 J).
 * - node-m3: both lines at once. Current CPU package 60 J/s (18000 J); legacy package 58 J/s (17400 J),
 *   DRAM 3 J/s (900 J), platform 200 J/s (60000 J). Detection prices it with current alone: 18000 J,
 *   no DRAM or platform figure (the current line has none for it), never 35400 J.
 * - workloads: batch/job-a on m1 (current) 20 J/s (6000 J); batch/job-b on m2 (legacy) 15 J/s (4500 J);
 *   batch/job-c on m3 in both lines, current 30 J/s (9000 J) and legacy 29 J/s (8700 J, left out);
 *   web/site on m2 (legacy) 5 J/s (1500 J). So batch = 6000 + 4500 + 9000 = 19500 J, web = 1500 J.
 */
import { backfill, T } from "./fixtures.js";

export const TM = T + 14_400;
export const WINDOW_MIXED = { from: TM + 100, to: TM + 400 };

export const EXPECTED_MIXED = {
  detected: {
    node: { "node-m3": 18000, "node-m1": 12000, "node-m2": 9000 },
    dram: { "node-m1": 1200, "node-m2": 600 },
    platform: { "node-m1": 45000, "node-m2": 30000 },
    namespace: { batch: 19500, web: 1500 },
    pod: { "batch/job-c": 9000, "batch/job-a": 6000, "batch/job-b": 4500, "web/site": 1500 },
  },
  /** --kepler current: m1 and m3 by the current line; m2 left out (and named in a note). */
  current: { node: { "node-m3": 18000, "node-m1": 12000 } },
  /** --kepler legacy: m2 and m3 by the legacy line; m1 left out. */
  legacy: { node: { "node-m3": 17400, "node-m2": 9000 } },
};

type Labels = Record<string, string>;

function series(name: string, labels: Labels, rate: number): string[] {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  const out: string[] = [];
  for (let s = 0; s <= 600; s += 10) out.push(`${name}{${l}} ${rate * s} ${TM + s}`);
  return out;
}

function gauge(name: string, labels: Labels, watts: number): string[] {
  return series(name, labels, 0).map((line) => line.replace(/ 0 (\d+)$/, ` ${watts} $1`));
}

function mixedLines(): string[] {
  const cur = (node: string, zone: string) => ({
    node_name: node,
    zone,
    path: `/sys/class/powercap/${zone}`,
  });
  const leg = (node: string, mode: string) => ({ instance: node, package: "0", mode, source: "rapl-sysfs" });
  const pod = (node: string, ns: string, name: string) => ({
    node_name: node,
    pod_id: `${ns}-${name}-uid`,
    pod_name: name,
    pod_namespace: ns,
    state: "running",
    zone: "package",
  });
  const container = (node: string, ns: string, name: string) => ({
    instance: node,
    container_namespace: ns,
    pod_name: name,
    container_name: "main",
    container_id: `${name}-main`,
    mode: "dynamic",
    source: "rapl-sysfs",
  });
  return [
    ...series("kepler_node_cpu_joules_total", cur("node-m1", "package"), 40),
    ...series("kepler_node_cpu_joules_total", cur("node-m1", "dram"), 4),
    ...gauge(
      "kepler_platform_watts",
      { node_name: "node-m1", source: "redfish", power_control_id: "PC1", power_control_name: "Server" },
      150,
    ),
    ...series("kepler_node_cpu_joules_total", cur("node-m3", "package"), 60),
    ...series("kepler_node_package_joules_total", leg("node-m2", "dynamic"), 25),
    ...series("kepler_node_package_joules_total", leg("node-m2", "idle"), 5),
    ...series("kepler_node_dram_joules_total", leg("node-m2", "dynamic"), 2),
    ...series("kepler_node_platform_joules_total", leg("node-m2", "dynamic"), 100),
    ...series("kepler_node_package_joules_total", leg("node-m3", "dynamic"), 58),
    ...series("kepler_node_dram_joules_total", leg("node-m3", "dynamic"), 3),
    ...series("kepler_node_platform_joules_total", leg("node-m3", "dynamic"), 200),
    ...series("kepler_pod_cpu_joules_total", pod("node-m1", "batch", "job-a"), 20),
    ...series("kepler_pod_cpu_joules_total", pod("node-m3", "batch", "job-c"), 30),
    ...series("kepler_container_joules_total", container("node-m2", "batch", "job-b"), 15),
    ...series("kepler_container_joules_total", container("node-m3", "batch", "job-c"), 29),
    ...series("kepler_container_joules_total", container("node-m2", "web", "site"), 5),
  ];
}

/** fixtures.ts' backfill plus the mixed window, each metric family's samples kept together. */
export function backfillWithMixed(): string {
  const base = backfill()
    .split("\n")
    .filter((l) => l && !l.startsWith("#"));
  const name = (l: string) => l.slice(0, l.indexOf("{"));
  const lines = [...base, ...mixedLines()].sort((a, b) => name(a).localeCompare(name(b)));
  return lines.join("\n") + "\n# EOF\n";
}
