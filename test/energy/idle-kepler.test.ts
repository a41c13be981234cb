/**
 * The Kepler facts of `powerstack power idle` (issue 19, item 11) from a real Prometheus with known
 * series, both Kepler lines: peak and idle draw (5-minute averages), first sample in the window, last
 * sample (when an off node went off), and energy attributed to pods outside the system namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readKeplerFacts } from "../../src/power/idle-facts.js";
import { decideIdle, IDLE_DEFAULTS } from "../../src/power/idle-policy.js";
import { PrometheusClient } from "../../src/prometheus/client.js";
import { KEPLER_LINES } from "../../src/prometheus/kepler-metrics.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";

// Aligned to 5 minutes, so subquery steps fall on samples. Two hours of history for each line.
const T0 = 1_700_000_100;
const NOW = T0 + 7200; // seconds
const T0L = T0 + 86_400; // the legacy line's history, a day later
const NOWL = T0L + 7200;
const STEP = 30;

type Labels = Record<string, string>;
const fmt = (name: string, l: Labels, v: number, t: number) =>
  `${name}{${Object.entries(l)
    .map(([k, x]) => `${k}="${x}"`)
    .join(",")}} ${v} ${t}`;

/**
 * Watts of each node at `s` seconds before now (undefined: no sample). w1 idle at 100 W; w2 100 W with a
 * 10-minute burst to 200 W inside the window; w3 seen only for the last 12 minutes; w4 at 90 W until it
 * went off an hour ago.
 */
const WATTS: Record<string, (ago: number) => number | undefined> = {
  w1: () => 100,
  w2: (ago) => (ago <= 1200 && ago > 600 ? 200 : 100),
  w3: (ago) => (ago <= 720 ? 100 : undefined),
  w4: (ago) => (ago >= 3600 ? 90 : undefined),
};

function currentLine(): string[] {
  const out: string[] = [];
  for (let t = T0; t <= NOW; t += STEP) {
    const ago = NOW - t;
    for (const [node, w] of Object.entries(WATTS)) {
      const watts = w(ago);
      if (watts === undefined) continue;
      // Two overlapping PowerControl entries: the whole server and its CPU subsystem (max, never summed).
      out.push(
        fmt("kepler_platform_watts", { node_name: node, source: "redfish", power_control_id: "0" }, watts, t),
      );
      out.push(
        fmt(
          "kepler_platform_watts",
          { node_name: node, source: "redfish", power_control_id: "1" },
          watts / 2,
          t,
        ),
      );
    }
    const pod = (node: string, ns: string, name: string, v: number) =>
      fmt(
        "kepler_pod_cpu_joules_total",
        {
          node_name: node,
          pod_namespace: ns,
          pod_name: name,
          pod_id: `${name}-uid`,
          state: "running",
          zone: "package",
        },
        v,
        t,
      );
    const s = t - T0;
    // w5: no platform power (Kepler without Redfish), only RAPL: 30 W package over two sockets.
    for (const path of ["0", "1"])
      out.push(fmt("kepler_node_cpu_joules_total", { node_name: "w5", zone: "package", path }, 15 * s, t));
    out.push(pod("w1", "kepler", "kepler-w1", s)); // system namespace: 1 J/s, never workload
    out.push(pod("w2", "default", "batch", 2 * s)); // 2 J/s: 3600 J in 30 min
  }
  return out;
}

function legacyLine(): string[] {
  const out: string[] = [];
  // Joule counters: the integral of the watts above, split as Kepler does into idle and dynamic.
  const acc: Record<string, number> = {};
  for (let t = T0L; t <= NOWL; t += STEP) {
    const ago = NOWL - t;
    for (const [node, w] of Object.entries(WATTS)) {
      const watts = w(ago);
      if (watts === undefined) continue;
      const prev = acc[node];
      acc[node] = prev === undefined ? 0 : prev + watts * STEP;
      out.push(
        fmt("kepler_node_platform_joules_total", { instance: node, mode: "idle" }, acc[node]! * 0.8, t),
      );
      out.push(
        fmt("kepler_node_platform_joules_total", { instance: node, mode: "dynamic" }, acc[node]! * 0.2, t),
      );
    }
    const s = t - T0L;
    for (const mode of ["idle", "dynamic"])
      out.push(fmt("kepler_node_package_joules_total", { instance: "w5", mode }, 15 * s, t));
    const c = (node: string, ns: string, name: string, v: number) =>
      fmt(
        "kepler_container_joules_total",
        {
          instance: node,
          container_namespace: ns,
          pod_name: name,
          container_id: `${name}-c`,
          mode: "dynamic",
        },
        v,
        t,
      );
    out.push(c("w1", "kepler", "kepler-w1", s));
    out.push(c("w2", "default", "batch", 2 * s));
  }
  return out;
}

let prom: RunningPrometheus;
beforeAll(async () => {
  const name = (l: string) => l.slice(0, l.indexOf("{"));
  const lines = [...currentLine(), ...legacyLine()].sort((a, b) => name(a).localeCompare(name(b)));
  prom = await startPrometheus({ openMetrics: lines.join("\n") + "\n# EOF\n" });
});
afterAll(async () => {
  await prom?.stop();
});

const SYSTEM = ["kube-system", "monitoring", "kepler"];

for (const [flavour, now] of [
  ["current", NOW],
  ["legacy", NOWL],
] as const) {
  describe(`Kepler facts for power idle, ${flavour} line (real Prometheus)`, () => {
    const read = () =>
      readKeplerFacts(new PrometheusClient(prom.url), KEPLER_LINES[flavour], {
        nowMs: now * 1000,
        windowMs: 30 * 60_000,
        baselineMs: 7200_000,
        systemNamespaces: SYSTEM,
      });

    it("an idle node: peak at its idle draw, covered from the window's start, no workload joules", async () => {
      const w1 = (await read()).get("w1")!;
      expect(w1.peakWatts).toBeCloseTo(100, 6);
      expect(w1.idleWatts).toBeCloseTo(100, 6);
      expect(w1.workloadJoules).toBe(0); // its only pod is in a system namespace
      expect(w1.firstSampleMs).toBeLessThanOrEqual((now - 1800 + STEP) * 1000);
    });

    it("a 10-minute burst shows as the peak (200 W) over the idle draw (100 W); pod joules are counted", async () => {
      const w2 = (await read()).get("w2")!;
      expect(w2.peakWatts).toBeCloseTo(200, 6);
      expect(w2.idleWatts).toBeCloseTo(100, 6);
      expect(w2.workloadJoules).toBeGreaterThan(3500);
      expect(w2.workloadJoules).toBeLessThan(3700);
    });

    it("a node seen for 12 minutes only: its first sample says so", async () => {
      expect((await read()).get("w3")!.firstSampleMs).toBe((now - 720) * 1000);
    });

    it("a node that went off an hour ago: its last sample and its idle draw before", async () => {
      const w4 = (await read()).get("w4")!;
      expect(w4.lastSampleMs).toBe((now - 3600) * 1000);
      expect(w4.idleWatts).toBeCloseTo(90, 6);
    });

    it("a node without platform power: the CPU package (RAPL) is its source, summed over sockets/modes", async () => {
      const facts = await read();
      const w5 = facts.get("w5")!;
      expect(w5.source).toBe("CPU package");
      expect(w5.peakWatts).toBeCloseTo(30, 6);
      expect(w5.idleWatts).toBeCloseTo(30, 6);
      expect(w5.firstSampleMs).toBeLessThanOrEqual((now - 1800 + STEP) * 1000);
      expect(facts.get("w1")!.source).toBe("platform");
    });

    it("decided on these facts: w1 goes off; w2 (load), w3 (too short) stay on", async () => {
      const facts = await read();
      const ds = decideIdle(
        ["ctl", "w1", "w2", "w3"].map((name) => ({
          name,
          role: name === "ctl" ? ("control" as const) : ("worker" as const),
          hasBmc: true,
          power: "On" as const,
          ...(facts.has(name) ? { kepler: facts.get(name)! } : {}),
        })),
        [],
        {
          ...IDLE_DEFAULTS,
          nowMs: now * 1000,
          idleForMs: 30 * 60_000,
          minWorkersOn: 1,
          systemNamespaces: SYSTEM,
        },
      );
      expect(ds.map((d) => [d.node, d.action])).toEqual([
        ["ctl", "keep"],
        ["w1", "power-off"],
        ["w2", "keep-on"],
        ["w3", "keep-on"],
      ]);
      expect(ds[2]!.reason).toMatch(/Kepler shows load: platform peaked at 200 W/);
      expect(ds[3]!.reason).toMatch(/Kepler covers only the last 12 min of 30 min/);
    });
  });
}
