/**
 * Backfill for the pipeline-step tests (`measure --step`, `measure report`, the gate): Kepler current-line
 * series every 10 s over [TS, TS+1500], with known busy windows, so every step figure can be worked out by
 * hand (below). Windows' edges fall on samples, so increase() is exactly last - first (see fixtures.ts).
 * TS lies 4 h after fixtures.ts' data, so the two never share a window.
 *
 * Rates (J/s; a busy interval [a, b) adds its rate to the idle one):
 * - node-a CPU package: 40 idle; busy +100 on [300,420) ("build"), +50 on [600,660) ("test"),
 *   +20 on [900,902) ("tiny"), +120 on [1200,1320) ("build" again, 20% more: a branch's build).
 * - node-b CPU package: idle that wanders: 30 when floor(s/20) is odd, else 10 (the idle noise).
 * - pods (zone package): ci/build-1 90 on [300,420) and 108 on [1200,1320); ci/test-1 45 on [600,660);
 *   ci/tiny-1 18 on [900,902); kube-system/coredns on node-b 5 always.
 * - node-a platform (BMC gauge, W) at sample time t: 150 + 1.5 x node-a's busy rate at t.
 *
 * Worked out (run window = the command's; baseline = the equal window just before):
 * - build [300,420] vs [180,300]: node-a 16800 - 4800 = 12000 J; node-b 2400 - 2400 = 0 (each window
 *   has three 20 s slices at 30 and three at 10); total 12000 J, 100 W. ci 10800 J, kube-system 0.
 *   Noise: baseline slices of 20 s draw 70, 50, 70, 50, 70, 50 W: sample sd sqrt(120) W, x 120 s.
 *   Platform: avg_over_time counts both edge samples: run (12 x 300 + 150) / 13 W, baseline
 *   (12 x 150 + 300) / 13 W, so the cost is (3750 - 2100) / 13 x 120 J.
 * - test [600,660] vs [540,600]: node-a 3000 J; node-b 1000 - 1400 = -400 J; total 2600 J. ci 2700 J.
 *   Noise: three slices 70, 50, 70 W: sample sd sqrt(400/3) W, x 60 s. Platform (375 / 7) x 60 J.
 * - tiny [900,902]: 2 s, shorter than Kepler's 5 s: too short to measure.
 * - build again [1200,1320] vs [1080,1200]: node-a 14400 J, node-b 0; total 14400 J (+20%). ci 12960 J.
 */

export const TS = 1_700_000_000 + 4 * 3600;

export const STEPS = {
  build: { from: TS + 300, to: TS + 420 },
  test: { from: TS + 600, to: TS + 660 },
  tiny: { from: TS + 900, to: TS + 902 },
  buildAgain: { from: TS + 1200, to: TS + 1320 },
};

export const EXPECTED_STEPS = {
  build: {
    nodes: {
      "node-a": { runJ: 16800, baselineJ: 4800, costJ: 12000 },
      "node-b": { runJ: 2400, baselineJ: 2400, costJ: 0 },
    },
    namespaces: { ci: 10800, "kube-system": 0 },
    totalJ: 12000,
    noiseW: Math.sqrt(120),
    noiseJ: Math.sqrt(120) * 120,
    platformJ: ((3750 - 2100) / 13) * 120,
  },
  test: {
    nodes: { "node-a": { costJ: 3000 }, "node-b": { runJ: 1000, baselineJ: 1400, costJ: -400 } },
    namespaces: { ci: 2700, "kube-system": 0 },
    totalJ: 2600,
    noiseW: Math.sqrt(400 / 3),
    noiseJ: Math.sqrt(400 / 3) * 60,
    platformJ: (375 / 7) * 60,
  },
  buildAgain: { totalJ: 14400, namespaces: { ci: 12960 } },
};

const BUSY_A: Array<[number, number, number]> = [
  [300, 420, 100],
  [600, 660, 50],
  [900, 902, 20],
  [1200, 1320, 120],
];
const PODS: Array<{
  ns: string;
  pod: string;
  node: string;
  busy: Array<[number, number, number]>;
  idle: number;
}> = [
  {
    ns: "ci",
    pod: "build-1",
    node: "node-a",
    idle: 0,
    busy: [
      [300, 420, 90],
      [1200, 1320, 108],
    ],
  },
  { ns: "ci", pod: "test-1", node: "node-a", idle: 0, busy: [[600, 660, 45]] },
  { ns: "ci", pod: "tiny-1", node: "node-a", idle: 0, busy: [[900, 902, 18]] },
  { ns: "kube-system", pod: "coredns", node: "node-b", idle: 5, busy: [] },
];

const rateAt = (busy: Array<[number, number, number]>, s: number) =>
  busy.reduce((r, [a, b, w]) => (s >= a && s < b ? r + w : r), 0);

/** Energy from 0 to s of a rate that is constant on each whole second (every change is on a second). */
function integral(rate: (s: number) => number, s: number): number {
  let j = 0;
  for (let t = 0; t < s; t++) j += rate(t);
  return j;
}

const nodeBIdle = (s: number) => (Math.floor(s / 20) % 2 === 1 ? 30 : 10);

function sample(name: string, labels: Record<string, string>, value: number, s: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return `${name}{${l}} ${value} ${TS + s}`;
}

export function stepBackfill(): string {
  const lines: string[] = [];
  const node = (n: string) => ({ node_name: n, zone: "package", path: "/sys/class/powercap/intel-rapl:0" });
  for (let s = 0; s <= 1500; s += 10) {
    lines.push(
      sample(
        "kepler_node_cpu_joules_total",
        node("node-a"),
        1000 + integral((t) => 40 + rateAt(BUSY_A, t), s),
        s,
      ),
      sample("kepler_node_cpu_joules_total", node("node-b"), 500 + integral(nodeBIdle, s), s),
      sample(
        "kepler_platform_watts",
        { node_name: "node-a", source: "redfish", bmc_id: "bmc-a", chassis_id: "1", power_control_id: "PC1" },
        150 + 1.5 * rateAt(BUSY_A, s),
        s,
      ),
    );
    for (const p of PODS) {
      const labels = {
        node_name: p.node,
        pod_id: `${p.ns}-${p.pod}-uid`,
        pod_name: p.pod,
        pod_namespace: p.ns,
        state: "running",
        zone: "package",
      };
      lines.push(
        sample(
          "kepler_pod_cpu_joules_total",
          labels,
          integral((t) => p.idle + rateAt(p.busy, t), s),
          s,
        ),
      );
    }
  }
  // OpenMetrics wants a family's samples together; a stable sort keeps each series in time order.
  const name = (l: string) => l.slice(0, l.indexOf("{"));
  return `${lines.sort((a, b) => name(a).localeCompare(name(b))).join("\n")}\n# EOF\n`;
}
