/**
 * Pricing an experiment's phase runs against a real Prometheus holding known series (phase-fixtures.ts):
 * every run's figures per node, namespace and the experiment's pods, the idle baseline, the mean, sample
 * standard deviation and count over repetitions (worked by hand here), the notes for missing data, and
 * the three renderings, the CSV read back by an RFC 4180 parser.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pricePhases, type PricedExperiment } from "../../src/experiment/price.js";
import { CSV_HEADER, resultsCsv, resultsJson, resultsText } from "../../src/experiment/results-output.js";
import type { GroupEnergy, PhaseRun, PhaseSummary } from "../../src/experiment/types.js";
import { PrometheusClient } from "../../src/prometheus/client.js";
import { resolveSettings } from "../../src/prometheus/settings.js";
import { freePort, startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { EXPECTED_PHASES as E, NAMESPACE, PLAN, RUNS, TE, phaseBackfill } from "./phase-fixtures.js";

const NO_INVENTORY = "/nonexistent/powerstack-test/inventory.yaml";

let prom: RunningPrometheus;
let priced: PricedExperiment;

// No --kepler: the line is detected, as `experiment run` does by default.
const settings = () => resolveSettings(NO_INVENTORY, { prometheus: prom.url, scrapeInterval: "10s" });
const price = (runs: PhaseRun[], plan = PLAN) =>
  pricePhases(new PrometheusClient(prom.url), settings(), runs, plan, { nowMs: Date.now() });

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: phaseBackfill() });
  priced = await price(RUNS);
}, 120_000);

afterAll(async () => {
  await prom?.stop();
});

function group(phase: string, rep: number, g: GroupEnergy["group"], key: string): GroupEnergy | undefined {
  const run = priced.runs.find((r) => r.phase === phase && r.repetition === rep);
  expect(run, `${phase}#${rep}`).toBeDefined();
  return run!.groups.find((x) => x.group === g && x.key === key);
}

function summary(p: PricedExperiment, phase: string, g: PhaseSummary["group"], key: string): PhaseSummary {
  const s = p.summaries.find((x) => x.phase === phase && x.group === g && x.key === key);
  expect(s, `${phase}/${g}/${key}`).toBeDefined();
  return s!;
}

const PHASES = ["idle", "cpu", "ramp"] as const;
const NODES = ["node-a", "node-b"] as const;

describe("pricePhases: each run", () => {
  it("prices every run per node: CPU joules and watts, DRAM and platform beside, the idle baseline and net", () => {
    expect(priced.runs.map((r) => `${r.phase}#${r.repetition}`)).toEqual(
      RUNS.map((r) => `${r.phase}#${r.repetition}`),
    );
    for (const phase of PHASES)
      for (const rep of [1, 2, 3])
        for (const node of NODES) {
          const want = E.node[phase][node];
          const g = group(phase, rep, "node", node)!;
          expect(g, `${phase}#${rep} ${node}`).toBeDefined();
          expect(g.joules).toBeCloseTo(want.joules[rep - 1]!, 6);
          expect(g.watts).toBeCloseTo(want.watts[rep - 1]!, 9);
          expect(g.baselineJ).toBeCloseTo(want.baselineJ, 6);
          expect(g.netJ).toBeCloseTo(want.netJ[rep - 1]!, 6);
          expect(g.dramJ).toBeCloseTo(E.dramJ[phase][node], 6);
          if (node === "node-a") {
            const p = E.platform[phase];
            expect(g.platformJ).toBeCloseTo(p.joules[rep - 1]!, 6);
            expect(g.platformW).toBeCloseTo(p.watts[rep - 1]!, 9);
            expect(g.platformBaselineJ).toBeCloseTo(p.baselineJ, 6);
            expect(g.platformNetJ).toBeCloseTo(p.netJ[rep - 1]!, 6);
          } else {
            // No BMC series on node-b: left out (and noted), never 0.
            expect(g.platformJ).toBeUndefined();
            expect(g.platformW).toBeUndefined();
            expect(g.platformNetJ).toBeUndefined();
          }
        }
  });

  it("the idle baseline is each node's idle joules over its idle seconds (40 W and 20 W) times the run's length", () => {
    // node-a: (2280 + 2400 + 2520) J / 180 s = 40 W; the cpu runs last 120 s: 4800 J.
    expect(group("cpu", 2, "node", "node-a")!.baselineJ).toBe(40 * 120);
    // node-b: 3600 J / 180 s = 20 W; a ramp run is 60 s: 1200 J, leaving 5400 - 1200 = 4200 J in run 2.
    expect(group("ramp", 2, "node", "node-b")!.baselineJ).toBe(20 * 60);
    expect(group("ramp", 2, "node", "node-b")!.netJ).toBe(5400 - 1200);
  });

  it("prices every namespace, and the experiment group as the run's own Job pods only", () => {
    for (const phase of PHASES)
      for (const rep of [1, 2, 3]) {
        for (const [ns, joules] of Object.entries(E.namespace[phase]))
          expect(group(phase, rep, "namespace", ns)!.joules).toBeCloseTo(joules[rep - 1]!, 6);
        const ours = group(phase, rep, "experiment", NAMESPACE);
        if (phase === "idle") {
          expect(ours).toBeUndefined(); // no Jobs, no pods of its own
          continue;
        }
        // The background pod (same namespace) and other/cpu-r1-... (same prefix, other namespace) are left out.
        expect(ours!.joules).toBeCloseTo(E.experiment[phase].joules[rep - 1]!, 6);
        expect(ours!.watts).toBeCloseTo(E.experiment[phase].joules[rep - 1]! / E.seconds[phase], 9);
        expect(ours!.pods).toEqual(E.experiment[phase].pods(rep));
        expect(ours!.baselineJ).toBeUndefined();
      }
  });
});

describe("pricePhases: over the repetitions", () => {
  it("mean, sample standard deviation (n - 1) and count, per phase, group and key", () => {
    // cpu on node-a: 16800, 18000, 19200 J; mean 18000; deviations -1200, 0, 1200:
    // sd = sqrt((1200^2 + 0 + 1200^2) / (3 - 1)) = 1200. Watts 140, 150, 160: mean 150, sd 10.
    const cpu = summary(priced, "cpu", "node", "node-a");
    expect(cpu.count).toBe(3);
    expect(cpu.meanJ).toBeCloseTo(18000, 6);
    expect(cpu.stdevJ).toBeCloseTo(1200, 6);
    expect(cpu.meanW).toBeCloseTo(150, 9);
    expect(cpu.stdevW).toBeCloseTo(10, 9);
    expect(cpu.meanSeconds).toBe(120);
    // Net 12000, 13200, 14400: mean 13200, sd 1200 (a constant baseline moves the mean only).
    expect(cpu.meanNetJ).toBeCloseTo(13200, 6);
    expect(cpu.stdevNetJ).toBeCloseTo(1200, 6);
    expect(cpu.meanDramJ).toBeCloseTo(600, 6);
    // Platform 200, 210, 220 W over 120 s: mean 210 W (25200 J), sd 10 W (1200 J); above idle 100 W: 13200 J.
    expect(cpu.platformCount).toBe(3);
    expect(cpu.meanPlatformW).toBeCloseTo(210, 9);
    expect(cpu.stdevPlatformW).toBeCloseTo(10, 9);
    expect(cpu.meanPlatformJ).toBeCloseTo(25200, 6);
    expect(cpu.stdevPlatformJ).toBeCloseTo(1200, 6);
    expect(cpu.meanPlatformNetJ).toBeCloseTo(13200, 6);

    // idle on node-a: 2280, 2400, 2520 J: mean 2400, sd sqrt((120^2 + 120^2) / 2) = 120; net mean 0, sd 120.
    const idle = summary(priced, "idle", "node", "node-a");
    expect([idle.count, idle.meanJ, idle.stdevJ]).toEqual([3, 2400, 120]);
    expect(idle.meanNetJ).toBeCloseTo(0, 9);
    expect(idle.stdevNetJ).toBeCloseTo(120, 9);

    // ramp on node-b: 4800, 5400, 6000 J: mean 5400, sd 600; 80, 90, 100 W: sd 10; net 4200 mean.
    const ramp = summary(priced, "ramp", "node", "node-b");
    expect([ramp.count, ramp.meanJ, ramp.stdevJ, ramp.meanW, ramp.stdevW]).toEqual([3, 5400, 600, 90, 10]);
    expect(ramp.meanNetJ).toBeCloseTo(4200, 6);
    // node-b has no platform series: no platform figures at all, not zeros.
    expect(ramp.platformCount).toBeUndefined();
    expect(ramp.meanPlatformW).toBeUndefined();

    // A constant figure: sd 0 with n = 3.
    expect(summary(priced, "idle", "node", "node-b").stdevJ).toBe(0);

    // Groups other than nodes: the experiment's pods in cpu 12000, 13200, 14400 J (mean 13200, sd 1200);
    // the namespace adds the background pod's 5 W x 120 s = 600 J to each.
    const pods = summary(priced, "cpu", "experiment", NAMESPACE);
    expect([pods.count, pods.meanJ, pods.stdevJ, pods.meanW, pods.stdevW]).toEqual([3, 13200, 1200, 110, 10]);
    expect(pods.meanNetJ).toBeUndefined();
    const ns = summary(priced, "cpu", "namespace", NAMESPACE);
    expect([ns.count, ns.meanJ, ns.stdevJ]).toEqual([3, 13800, 1200]);
    const rampPods = summary(priced, "ramp", "experiment", NAMESPACE);
    expect([rampPods.meanJ, rampPods.stdevJ, rampPods.meanW]).toEqual([4200, 600, 70]);
  });

  it("orders summaries by the plan's phases, then node, namespace, experiment", () => {
    expect(priced.summaries.map((s) => `${s.phase}/${s.group}/${s.key}`)).toEqual([
      "idle/node/node-a",
      "idle/node/node-b",
      `idle/namespace/kube-system`,
      "idle/namespace/other",
      `idle/namespace/${NAMESPACE}`,
      "cpu/node/node-a",
      "cpu/node/node-b",
      "cpu/namespace/kube-system",
      "cpu/namespace/other",
      `cpu/namespace/${NAMESPACE}`,
      `cpu/experiment/${NAMESPACE}`,
      "ramp/node/node-a",
      "ramp/node/node-b",
      "ramp/namespace/kube-system",
      "ramp/namespace/other",
      `ramp/namespace/${NAMESPACE}`,
      `ramp/experiment/${NAMESPACE}`,
    ]);
  });

  it("one repetition: sd 0, count 1, and a note saying why", async () => {
    const one = await price(RUNS.filter((r) => r.repetition === 2));
    const cpu = summary(one, "cpu", "node", "node-a");
    expect([cpu.count, cpu.meanJ, cpu.stdevJ, cpu.stdevW]).toEqual([1, 18000, 0, 0]);
    // The baseline now comes from idle#2 alone: 40 W.
    expect(cpu.meanNetJ).toBeCloseTo(18000 - 4800, 6);
    expect(one.notes).toContain(
      "idle, cpu, ramp: one run only, so the standard deviation is shown as 0 (it needs two runs or more)",
    );
  });
});

describe("pricePhases: notes, never a silent 0", () => {
  it("says which node has no platform series, in which runs, and nothing else is missing", () => {
    expect(priced.kepler).toBe("current (detected)");
    expect(priced.notes).toContain(
      "platform: node-b has no platform (BMC) power series; its platform figures are left empty (all 9 runs)",
    );
    expect(priced.notes).toContain(
      "coverage: 2 node(s) scraped throughout the window, every 10 s, no counter resets",
    );
    expect(priced.notes).toHaveLength(2);
  });

  it("a run whose window has no Kepler series at all: no figures, a note naming the run, counts unchanged", async () => {
    const lost: PhaseRun = {
      phase: "cpu",
      repetition: 4,
      nodes: ["node-a"],
      startMs: (TE + 5000) * 1000,
      endMs: (TE + 5120) * 1000,
      jobs: ["cpu-r4-node-a"],
    };
    const p = await price([...RUNS, lost]);
    const run = p.runs.find((r) => r.repetition === 4)!;
    expect(run.groups).toEqual([]);
    const missing = p.notes.filter((n) => n.endsWith("(cpu#4)"));
    expect(missing.map((n) => n.slice(0, n.indexOf(":")))).toEqual(
      expect.arrayContaining(["node figures missing", "namespace figures missing", "pod figures missing"]),
    );
    expect(missing.find((n) => n.startsWith("node figures missing"))).toMatch(
      /no series of either Kepler line/,
    );
    // The three runs that had data still make the summary: not four with a 0.
    const cpu = summary(p, "cpu", "node", "node-a");
    expect([cpu.count, cpu.meanJ, cpu.stdevJ]).toEqual([3, 18000, 1200]);
  });

  it("idle runs without figures: no baseline for any node, a note per node naming the runs", async () => {
    const idleLost: PhaseRun = {
      phase: "idle",
      repetition: 1,
      nodes: ["node-a", "node-b"],
      startMs: (TE + 5000) * 1000,
      endMs: (TE + 5060) * 1000,
      jobs: [],
    };
    const p = await price([idleLost, ...RUNS.filter((r) => r.phase === "cpu")]);
    for (const r of p.runs.filter((x) => x.phase === "cpu"))
      for (const g of r.groups) expect([g.baselineJ, g.netJ]).toEqual([undefined, undefined]);
    expect(p.notes).toContain(
      "node-a: no figure in any run of the idle phase (idle), so no baseline is subtracted for it (cpu#1, cpu#2, cpu#3)",
    );
    expect(p.notes.some((n) => n.startsWith("node figures missing") && n.endsWith("(idle#1)"))).toBe(true);
  });

  it("Prometheus unreachable is an error, not a note", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(
      pricePhases(new PrometheusClient(closed, 2_000), settings(), RUNS.slice(0, 1), PLAN, {
        nowMs: Date.now(),
      }),
    ).rejects.toThrow(/cannot reach Prometheus at .*connection refused/);
  });

  it("a plan without an idle phase subtracts nothing, and says so", async () => {
    const plan = { namespace: NAMESPACE, phases: PLAN.phases.filter((p) => p.name !== "idle") };
    const p = await price(
      RUNS.filter((r) => r.phase !== "idle"),
      plan,
    );
    const g = p.runs[0]!.groups.find((x) => x.group === "node")!;
    expect(g.baselineJ).toBeUndefined();
    expect(g.netJ).toBeUndefined();
    expect(summary(p, "cpu", "node", "node-a").meanNetJ).toBeUndefined();
    expect(p.notes).toContain(
      "no idle phase in the plan: no baseline is subtracted (add a phase with `workload: idle` to get each node's idle power)",
    );
  });

  it("Jobs whose pods Kepler never saw: no experiment group, a note", async () => {
    const ghost = RUNS.filter((r) => r.phase === "cpu" && r.repetition === 1).map((r) => ({
      ...r,
      jobs: ["cpu-ghost"],
    }));
    const p = await price(ghost);
    expect(p.runs[0]!.groups.some((g) => g.group === "experiment")).toBe(false);
    expect(p.notes).toContain(
      `no Kepler pod series for the Jobs cpu-ghost in namespace ${NAMESPACE} (their pods ran shorter than Kepler's interval, or Kepler exports no pod figures); the experiment group is left out (cpu#1)`,
    );
  });
});

/** RFC 4180: records end in CRLF; a field in quotes may hold commas, CRLF and doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((field += '"'), (i += 2));
      else if (c === '"') ((quoted = false), i++);
      else ((field += c), i++);
    } else if (c === '"' && field === "") ((quoted = true), i++);
    else if (c === ",") (row.push(field), (field = ""), i++);
    else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      ((row = []), (field = ""), (i += 2));
    } else if (c === "\r" || c === "\n" || c === '"') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    else ((field += c), i++);
  }
  if (field !== "" || row.length) throw new Error("last record does not end in CRLF");
  return rows;
}

describe("renderings", () => {
  it("CSV: a header with units, one row per summary then per run and group, the same numbers read back", () => {
    const text = resultsCsv(priced);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...CSV_HEADER]);
    expect(header).toEqual(
      expect.arrayContaining(["joules", "watts", "net_joules", "platform_watts", "seconds"]),
    );
    expect(rows.every((r) => r.length === header!.length)).toBe(true);
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
    const summaries = records.filter((r) => r.record === "summary");
    const runs = records.filter((r) => r.record === "run");
    expect(summaries).toHaveLength(priced.summaries.length);
    expect(runs).toHaveLength(priced.runs.reduce((n, r) => n + r.groups.length, 0));
    expect(records.slice(0, summaries.length).every((r) => r.record === "summary")).toBe(true);

    const cpuA = summaries.find((r) => r.phase === "cpu" && r.group === "node" && r.key === "node-a")!;
    expect(Number(cpuA.count)).toBe(3);
    expect(Number(cpuA.joules)).toBeCloseTo(18000, 6);
    expect(Number(cpuA.joules_stdev)).toBeCloseTo(1200, 6);
    expect(Number(cpuA.watts)).toBeCloseTo(150, 9);
    expect(Number(cpuA.net_joules)).toBeCloseTo(13200, 6);
    expect(Number(cpuA.platform_watts)).toBeCloseTo(210, 9);
    expect(cpuA.repetition).toBe("");
    // Missing is empty, never 0.
    const rampB = summaries.find((r) => r.phase === "ramp" && r.group === "node" && r.key === "node-b")!;
    expect([rampB.platform_watts, rampB.platform_count]).toEqual(["", "0"]);

    const run3 = runs.find((r) => r.phase === "cpu" && r.repetition === "3" && r.key === "node-a")!;
    expect(Number(run3.joules)).toBeCloseTo(19200, 6);
    expect(Number(run3.baseline_joules)).toBeCloseTo(4800, 6);
    expect(Number(run3.net_joules)).toBeCloseTo(14400, 6);
    expect(Number(run3.platform_joules)).toBeCloseTo(26400, 6);
    expect(Number(run3.seconds)).toBe(120);
    expect(run3.start).toBe(new Date((TE + 700) * 1000).toISOString());
    expect(run3.joules_stdev).toBe("");
    // Every run figure in the CSV equals the priced one, to the last digit.
    for (const r of runs) {
      const g = priced.runs
        .find((x) => x.phase === r.phase && String(x.repetition) === r.repetition)!
        .groups.find((x) => x.group === r.group && x.key === r.key)!;
      expect(Number(r.joules)).toBe(g.joules);
      expect(r.net_joules === "" ? undefined : Number(r.net_joules)).toBe(g.netJ);
    }
  });

  it("CSV quotes fields with commas, quotes and line breaks (RFC 4180)", () => {
    const odd: PricedExperiment = {
      runs: [],
      summaries: [
        {
          phase: 'a,"b"\r\nc',
          group: "node",
          key: "n1",
          count: 1,
          meanJ: 1.5,
          stdevJ: 0,
          meanW: 0.025,
          stdevW: 0,
          meanSeconds: 60,
        },
      ],
      notes: [],
      kepler: "current",
      figure: "",
    };
    const text = resultsCsv(odd);
    expect(text.split("\r\n")[1]).toBe('summary,"a,""b""');
    const [, row] = parseCsv(text);
    expect(row!.slice(0, 5)).toEqual(["summary", 'a,"b"\r\nc', "", "node", "n1"]);
    expect(row![header("joules")]).toBe("1.5");
    expect(row![header("net_joules")]).toBe("");
  });

  it("JSON: summaries, one object per run and group, then the experiment with its notes; null where missing", () => {
    const objs = resultsJson(priced, { experiment: "demo", prometheus: prom.url });
    const lines = objs.map((o) => JSON.stringify(o));
    const back = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(back.filter((o) => o.type === "phase-summary")).toHaveLength(priced.summaries.length);
    const runs = back.filter((o) => o.type === "phase-run");
    expect(runs).toHaveLength(priced.runs.reduce((n, r) => n + r.groups.length, 0));
    // Every object of a type has the same keys.
    expect(new Set(runs.map((o) => Object.keys(o).join(","))).size).toBe(1);
    const b = runs.find((o) => o.phase === "ramp" && o.repetition === 1 && o.key === "node-b")!;
    expect(b).toMatchObject({
      group: "node",
      joules: 4800,
      watts: 80,
      baselineJ: 1200,
      netJ: 3600,
      platformJ: null,
    });
    const last = back.at(-1)!;
    expect(last).toMatchObject({
      type: "experiment",
      experiment: "demo",
      runs: 9,
      kepler: "current (detected)",
    });
    expect(last.phases).toEqual(["idle", "cpu", "ramp"]);
    expect(last.notes).toEqual(priced.notes);
  });

  it("text: the phases table, the runs table and the notes", () => {
    const text = resultsText(priced, { experiment: "demo", prometheus: prom.url });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(
      /^experiment demo: 9 phase runs, .* Kepler current \(detected\) via http:\/\/127\.0\.0\.1:/,
    );
    const head = lines.find((l) => l.startsWith("phase  group"))!;
    for (const h of ["runs", "energy (J)", "sd (J)", "power (W)", "above idle (J)", "platform (W)"])
      expect(head).toContain(h);
    expect(
      lines.find((l) =>
        /^cpu\s+node\s+node-a\s+3\s+18000\.0\s+1200\.0\s+150\.00\s+10\.00\s+13200\.0/.test(l),
      ),
    ).toBeDefined();
    // A missing platform figure is `-`.
    expect(lines.find((l) => /^ramp\s+node\s+node-b\s+3\s+5400\.0/.test(l))).toMatch(/\s-\s/);
    expect(
      lines.find((l) =>
        /^cpu\s+3\s+\S+\s+120\.0\s+node\s+node-a\s+19200\.0\s+160\.00\s+4800\.0\s+14400\.0/.test(l),
      ),
    ).toBeDefined();
    expect(text).toContain("note: platform: node-b has no platform (BMC) power series");
  });
});

function header(name: string): number {
  return CSV_HEADER.indexOf(name);
}
