/**
 * Backfill data for the energy tests, for both Kepler lines, with every expected figure worked out by
 * hand below. Samples every 10 s from T to T+600 s; the test window is [T+100, T+400] (300 s): both
 * edges fall on samples, so Prometheus' increase() does not extrapolate and gives exactly
 * last - first (+ the value before each reset).
 *
 * What is in it, per line (the legacy line lives 2 h later, so each window sees one line only):
 * - node-a: CPU package 50 J/s (15000 J), DRAM 5 J/s (1500 J), platform 200 W (60000 J). Its scrapes at
 *   T+300..T+340 are missing: a 60 s gap (5 missed scrapes), which increase() bridges (linear counters).
 *   Current line: `zone="core"` at 30 J/s beside package, which must not be added; platform gauges
 *   PC1 200 W (whole server) and PC2 80 W (CPU subsystem), which must not be added either.
 * - node-b: CPU package 20 J/s with a Kepler restart at T+245: the counter goes 500+20t until then and
 *   20(t-245) after. Samples: T+100 -> 2500, T+240 -> 5300, T+250 -> 100, T+400 -> 3100. increase() =
 *   (5300-2500) + 100 + (3100-100) = 5900 J (the 100 J between T+240 and the restart is lost).
 * - workloads: batch/job-1 on node-a 30 J/s (9000 J); batch/job-2 on node-b 10 J/s with the same reset
 *   (counter 100+10t, then 10(t-245): (2500-1100) + 50 + (1550-50) = 2950 J); web/frontend on node-a
 *   15 J/s (4500 J; legacy: two containers, 10 + 5 J/s); web/old terminated, flat (0 J).
 *   Current line: the same pods' `zone="dram"` series at 3 J/s, which must not be added.
 *   Legacy line: `system/system_processes` at 4 J/s (1200 J); node/workload series split in
 *   mode="dynamic" and mode="idle", which add up.
 */

export const T = 1_700_000_000; // seconds; a multiple of 10, so samples sit on round times
export const TL = T + 7200;
export const WINDOW = { from: T + 100, to: T + 400 };
export const WINDOW_LEGACY = { from: TL + 100, to: TL + 400 };

export const EXPECTED = {
  node: { "node-a": { cpu: 15000, dram: 1500, platform: 60000 }, "node-b": { cpu: 5900 } },
  namespaceCurrent: { batch: 11950, web: 4500 },
  namespaceLegacy: { batch: 11950, web: 4500, system: 1200 },
  pod: { "batch/job-1": 9000, "batch/job-2": 2950, "web/frontend": 4500, "web/old": 0 },
};

type Labels = Record<string, string>;
const RESET_AT = 245; // seconds after the line's start
const GAP = { from: 300, to: 340 }; // node-a's missing scrapes, inclusive

function line(name: string, labels: Labels, value: number, t: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return `${name}{${l}} ${value} ${t}`;
}

/** Samples of one series every 10 s over [start, start+600], minus node-a's gap when `gap`. */
function series(
  name: string,
  labels: Labels,
  start: number,
  value: (s: number) => number,
  gap: boolean,
): string[] {
  const out: string[] = [];
  for (let s = 0; s <= 600; s += 10) {
    if (gap && s >= GAP.from && s <= GAP.to) continue;
    out.push(line(name, labels, value(s), start + s));
  }
  return out;
}

const linear = (base: number, rate: number) => (s: number) => base + rate * s;
const withReset = (base: number, rate: number) => (s: number) =>
  s < RESET_AT ? base + rate * s : rate * (s - RESET_AT);

function currentLine(): string[] {
  const n = (node: string, zone: string) => ({ node_name: node, zone, path: `/sys/class/powercap/${zone}` });
  const pod = (node: string, ns: string, name: string, zone: string, state = "running") => ({
    node_name: node,
    pod_id: `${ns}-${name}-uid`,
    pod_name: name,
    pod_namespace: ns,
    state,
    zone,
  });
  const platform = (id: string, name: string) => ({
    node_name: "node-a",
    source: "redfish",
    bmc_id: "bmc-a",
    chassis_id: "1",
    power_control_id: id,
    power_control_name: name,
  });
  return [
    ...series("kepler_node_cpu_joules_total", n("node-a", "package"), T, linear(1000, 50), true),
    ...series("kepler_node_cpu_joules_total", n("node-a", "core"), T, linear(700, 30), true),
    ...series("kepler_node_cpu_joules_total", n("node-a", "dram"), T, linear(100, 5), true),
    ...series("kepler_node_cpu_joules_total", n("node-b", "package"), T, withReset(500, 20), false),
    ...series("kepler_platform_watts", platform("PC1", "Server Power Control"), T, () => 200, true),
    ...series("kepler_platform_watts", platform("PC2", "CPU Sub-system Power"), T, () => 80, true),
    ...series(
      "kepler_pod_cpu_joules_total",
      pod("node-a", "batch", "job-1", "package"),
      T,
      linear(0, 30),
      true,
    ),
    ...series("kepler_pod_cpu_joules_total", pod("node-a", "batch", "job-1", "dram"), T, linear(0, 3), true),
    ...series(
      "kepler_pod_cpu_joules_total",
      pod("node-b", "batch", "job-2", "package"),
      T,
      withReset(100, 10),
      false,
    ),
    ...series(
      "kepler_pod_cpu_joules_total",
      pod("node-a", "web", "frontend", "package"),
      T,
      linear(40, 15),
      true,
    ),
    ...series("kepler_pod_cpu_joules_total", pod("node-a", "web", "frontend", "dram"), T, linear(0, 3), true),
    ...series(
      "kepler_pod_cpu_joules_total",
      pod("node-a", "web", "old", "package", "terminated"),
      T,
      () => 777,
      true,
    ),
  ];
}

function legacyLine(): string[] {
  const n = (node: string, mode: string) => ({ instance: node, package: "0", mode, source: "rapl-sysfs" });
  const c = (node: string, ns: string, pod: string, container: string, mode: string) => ({
    instance: node,
    container_namespace: ns,
    pod_name: pod,
    container_name: container,
    container_id: `${pod}-${container}`,
    mode,
    source: "rapl-sysfs",
  });
  return [
    ...series("kepler_node_package_joules_total", n("node-a", "dynamic"), TL, linear(900, 35), true),
    ...series("kepler_node_package_joules_total", n("node-a", "idle"), TL, linear(300, 15), true),
    ...series("kepler_node_dram_joules_total", n("node-a", "dynamic"), TL, linear(100, 5), true),
    ...series("kepler_node_platform_joules_total", n("node-a", "dynamic"), TL, linear(5000, 150), true),
    ...series("kepler_node_platform_joules_total", n("node-a", "idle"), TL, linear(2000, 50), true),
    ...series("kepler_node_package_joules_total", n("node-b", "dynamic"), TL, withReset(500, 20), false),
    ...series(
      "kepler_container_joules_total",
      c("node-a", "batch", "job-1", "main", "dynamic"),
      TL,
      linear(0, 25),
      true,
    ),
    ...series(
      "kepler_container_joules_total",
      c("node-a", "batch", "job-1", "main", "idle"),
      TL,
      linear(0, 5),
      true,
    ),
    ...series(
      "kepler_container_joules_total",
      c("node-b", "batch", "job-2", "main", "dynamic"),
      TL,
      withReset(100, 10),
      false,
    ),
    ...series(
      "kepler_container_joules_total",
      c("node-a", "web", "frontend", "main", "dynamic"),
      TL,
      linear(10, 10),
      true,
    ),
    ...series(
      "kepler_container_joules_total",
      c("node-a", "web", "frontend", "sidecar", "dynamic"),
      TL,
      linear(10, 5),
      true,
    ),
    ...series(
      "kepler_container_joules_total",
      c("node-a", "system", "system_processes", "system_processes", "dynamic"),
      TL,
      linear(0, 4),
      true,
    ),
  ];
}

/** OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (timestamps in seconds). */
export function backfill(): string {
  // OpenMetrics wants each metric family's samples together (stable sort: time order within a series stays).
  const name = (l: string) => l.slice(0, l.indexOf("{"));
  const lines = [...currentLine(), ...legacyLine()].sort((a, b) => name(a).localeCompare(name(b)));
  return lines.join("\n") + "\n# EOF\n";
}
