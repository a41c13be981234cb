/**
 * Backfill for pricing an experiment (src/experiment/price.ts): Kepler current-line series every 10 s over
 * [TE, TE+1000] on two nodes, and the phase runs of a plan with three phases and three repetitions. Every
 * rate is constant on each phase (the ramp: on each 20 s step) and changes on a sample, so increase() over a
 * run's window is exactly rate x seconds (see fixtures.ts on window edges), and every figure below is
 * worked out by hand. TE lies 8 h after fixtures.ts' data, after step-fixtures.ts' too.
 *
 * Timeline of repetition r (1..3), from b = (r - 1) x 300 s; between phases the settle time (20 s):
 *   [b, b+20) settle | idle [b+20, b+80] 60 s | settle | cpu [b+100, b+220] 120 s on node-a | settle |
 *   ramp [b+240, b+300] 60 s on node-b, three 20 s steps
 *
 * Rates (W = J/s); settle and anything not listed: node-a 40, node-b 20:
 * - node-a CPU package: idle 38 / 40 / 42 (r = 1 / 2 / 3); cpu 140 / 150 / 160; ramp 40.
 * - node-b CPU package: idle 20; cpu 20; ramp steps 50, 80, 110 plus 10 x (r - 1): means 80 / 90 / 100.
 * - DRAM: node-a 5, node-b 3 (shown beside, never added).
 * - platform (BMC gauge): node-a only: 100; idle 98 / 100 / 102; cpu 200 / 210 / 220. node-b has none.
 * - pods (zone package): kube-system/coredns (node-a) 2; powerstack-exp/background-node-b-7xk2p 5 always
 *   (in the experiment's namespace, not one of a phase's Jobs); the cpu Job's pod `cpu-r<r>-node-a-abcde`
 *   100 / 110 / 120 during its run; the ramp Job's pod `ramp-r<r>-node-b-fghij` the ramp steps minus 20
 *   (means 60 / 70 / 80); other/cpu-r1-node-a-zzzzz 1 always: a Job's name prefix, but another namespace.
 *
 * Worked out (J; s = 60 idle, 120 cpu, 60 ramp) in EXPECTED_PHASES below; the idle power: node-a
 * (2280 + 2400 + 2520) / 180 s = 40 W, node-b 20 W; node-a's idle platform power (5880 + 6000 + 6120) / 180 = 100 W.
 */
import type { PhaseRun } from "../../src/experiment/types.js";
import type { PricePlan } from "../../src/experiment/price.js";

export const TE = 1_700_000_000 + 8 * 3600;
export const NAMESPACE = "powerstack-exp";
export const END = 1000;

export const PLAN: PricePlan = {
  namespace: NAMESPACE,
  phases: [
    { name: "idle", workload: { kind: "idle" } },
    { name: "cpu", workload: { kind: "cpu", load: 100, workers: 4 } },
    { name: "ramp", workload: { kind: "ramp", steps: [25, 50, 75], stepSeconds: 20, workers: 4 } },
  ],
};

interface Slot {
  phase: "idle" | "cpu" | "ramp";
  /** Offsets from the repetition's start, seconds. */
  from: number;
  to: number;
  node?: string;
}
const SLOTS: Slot[] = [
  { phase: "idle", from: 20, to: 80 },
  { phase: "cpu", from: 100, to: 220, node: "node-a" },
  { phase: "ramp", from: 240, to: 300, node: "node-b" },
];
const REPS = [1, 2, 3];
const repStart = (r: number) => (r - 1) * 300;

const jobOf = (phase: string, r: number, node: string) => `${phase}-r${r}-${node}`;

/** The runs as run.ts records them (epoch ms), in run order. */
export const RUNS: PhaseRun[] = REPS.flatMap((r) =>
  SLOTS.map((s) => ({
    phase: s.phase,
    repetition: r,
    nodes: s.node ? [s.node] : ["node-a", "node-b"],
    startMs: (TE + repStart(r) + s.from) * 1000,
    endMs: (TE + repStart(r) + s.to) * 1000,
    jobs: s.node ? [jobOf(s.phase, r, s.node)] : [],
  })),
);

/** Which slot (and repetition) a second [s, s+1) belongs to, if any. */
function slotAt(s: number): { slot: Slot; r: number; offset: number } | undefined {
  for (const r of REPS) {
    const offset = s - repStart(r);
    const slot = SLOTS.find((x) => offset >= x.from && offset < x.to);
    if (slot) return { slot, r, offset };
  }
  return undefined;
}

/** A gauge sampled at s: a sample on a run's edge belongs to the run (settles sit between runs). */
function slotAtSample(s: number): { slot: Slot; r: number } | undefined {
  for (const r of REPS) {
    const offset = s - repStart(r);
    const slot = SLOTS.find((x) => offset >= x.from && offset <= x.to);
    if (slot) return { slot, r };
  }
  return undefined;
}

const rampStep = (offset: number, r: number) =>
  [50, 80, 110][Math.floor((offset - 240) / 20)]! + 10 * (r - 1);

function nodeA(s: number): number {
  const at = slotAt(s);
  if (at?.slot.phase === "idle") return [38, 40, 42][at.r - 1]!;
  if (at?.slot.phase === "cpu") return [140, 150, 160][at.r - 1]!;
  return 40;
}

function nodeB(s: number): number {
  const at = slotAt(s);
  if (at?.slot.phase === "ramp") return rampStep(at.offset, at.r);
  return 20;
}

function platformA(s: number): number {
  const at = slotAtSample(s);
  if (at?.slot.phase === "idle") return [98, 100, 102][at.r - 1]!;
  if (at?.slot.phase === "cpu") return [200, 210, 220][at.r - 1]!;
  return 100;
}

/** A Job's pod: its rate during its own run, 0 after; no series before the run started. */
function jobPod(phase: "cpu" | "ramp", r: number): { from: number; rate: (s: number) => number } {
  const slot = SLOTS.find((x) => x.phase === phase)!;
  const from = repStart(r) + slot.from;
  return {
    from,
    rate: (s) => {
      const at = slotAt(s);
      if (!at || at.slot.phase !== phase || at.r !== r) return 0;
      return phase === "cpu" ? [100, 110, 120][r - 1]! : rampStep(at.offset, r) - 20;
    },
  };
}

/** Energy from 0 to s of a rate constant on each whole second. */
function integral(rate: (s: number) => number, from: number, s: number): number {
  let j = 0;
  for (let t = from; t < s; t++) j += rate(t);
  return j;
}

function sample(name: string, labels: Record<string, string>, value: number, s: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return `${name}{${l}} ${value} ${TE + s}`;
}

export function phaseBackfill(): string {
  const lines: string[] = [];
  const zone = (node: string, z: string) => ({ node_name: node, zone: z, path: `/sys/class/powercap/${z}` });
  const pod = (node: string, ns: string, name: string) => ({
    node_name: node,
    pod_id: `${ns}-${name}-uid`,
    pod_name: name,
    pod_namespace: ns,
    state: "running",
    zone: "package",
  });
  const pods: Array<{ labels: Record<string, string>; from: number; rate: (s: number) => number }> = [
    { labels: pod("node-a", "kube-system", "coredns"), from: 0, rate: () => 2 },
    { labels: pod("node-b", NAMESPACE, "background-node-b-7xk2p"), from: 0, rate: () => 5 },
    { labels: pod("node-a", "other", "cpu-r1-node-a-zzzzz"), from: 0, rate: () => 1 },
    ...REPS.flatMap((r) => [
      { labels: pod("node-a", NAMESPACE, `${jobOf("cpu", r, "node-a")}-abcde`), ...jobPod("cpu", r) },
      { labels: pod("node-b", NAMESPACE, `${jobOf("ramp", r, "node-b")}-fghij`), ...jobPod("ramp", r) },
    ]),
  ];
  for (let s = 0; s <= END; s += 10) {
    lines.push(
      sample("kepler_node_cpu_joules_total", zone("node-a", "package"), 1000 + integral(nodeA, 0, s), s),
      sample("kepler_node_cpu_joules_total", zone("node-b", "package"), 500 + integral(nodeB, 0, s), s),
      sample("kepler_node_cpu_joules_total", zone("node-a", "dram"), 5 * s, s),
      sample("kepler_node_cpu_joules_total", zone("node-b", "dram"), 3 * s, s),
      sample(
        "kepler_platform_watts",
        { node_name: "node-a", source: "redfish", bmc_id: "bmc-a", chassis_id: "1", power_control_id: "PC1" },
        platformA(s),
        s,
      ),
    );
    for (const p of pods)
      if (s >= p.from)
        lines.push(sample("kepler_pod_cpu_joules_total", p.labels, integral(p.rate, p.from, s), s));
  }
  // OpenMetrics wants a family's samples together; a stable sort keeps each series in time order.
  const name = (l: string) => l.slice(0, l.indexOf("{"));
  return `${lines.sort((a, b) => name(a).localeCompare(name(b))).join("\n")}\n# EOF\n`;
}

/** Per run (index r - 1) and over the repetitions, worked out from the rates above. */
export const EXPECTED_PHASES = {
  seconds: { idle: 60, cpu: 120, ramp: 60 },
  idleW: { "node-a": 40, "node-b": 20 },
  idlePlatformW: { "node-a": 100 },
  node: {
    idle: {
      "node-a": { joules: [2280, 2400, 2520], watts: [38, 40, 42], baselineJ: 2400, netJ: [-120, 0, 120] },
      "node-b": { joules: [1200, 1200, 1200], watts: [20, 20, 20], baselineJ: 1200, netJ: [0, 0, 0] },
    },
    cpu: {
      "node-a": {
        joules: [16800, 18000, 19200],
        watts: [140, 150, 160],
        baselineJ: 4800,
        netJ: [12000, 13200, 14400],
      },
      "node-b": { joules: [2400, 2400, 2400], watts: [20, 20, 20], baselineJ: 2400, netJ: [0, 0, 0] },
    },
    ramp: {
      "node-a": { joules: [2400, 2400, 2400], watts: [40, 40, 40], baselineJ: 2400, netJ: [0, 0, 0] },
      "node-b": {
        joules: [4800, 5400, 6000],
        watts: [80, 90, 100],
        baselineJ: 1200,
        netJ: [3600, 4200, 4800],
      },
    },
  },
  dramJ: {
    idle: { "node-a": 300, "node-b": 180 },
    cpu: { "node-a": 600, "node-b": 360 },
    ramp: { "node-a": 300, "node-b": 180 },
  },
  /** node-a only. */
  platform: {
    idle: { joules: [5880, 6000, 6120], watts: [98, 100, 102], baselineJ: 6000, netJ: [-120, 0, 120] },
    cpu: {
      joules: [24000, 25200, 26400],
      watts: [200, 210, 220],
      baselineJ: 12000,
      netJ: [12000, 13200, 14400],
    },
    ramp: { joules: [6000, 6000, 6000], watts: [100, 100, 100], baselineJ: 6000, netJ: [0, 0, 0] },
  },
  namespace: {
    idle: { [NAMESPACE]: [300, 300, 300], "kube-system": [120, 120, 120], other: [60, 60, 60] },
    cpu: { [NAMESPACE]: [12600, 13800, 15000], "kube-system": [240, 240, 240], other: [120, 120, 120] },
    ramp: { [NAMESPACE]: [3900, 4500, 5100], "kube-system": [120, 120, 120], other: [60, 60, 60] },
  },
  experiment: {
    cpu: { joules: [12000, 13200, 14400], pods: (r: number) => [`${NAMESPACE}/cpu-r${r}-node-a-abcde`] },
    ramp: { joules: [3600, 4200, 4800], pods: (r: number) => [`${NAMESPACE}/ramp-r${r}-node-b-fghij`] },
  },
};
