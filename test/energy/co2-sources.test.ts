/**
 * CO2 by generating fuel (coal, petroleum, natural gas: EIA's pounds of CO2 per kWh, as Kepler's legacy
 * dashboard uses them) beside the grid-intensity CO2e, in `energy` (against the real Prometheus fixtures)
 * and `measure`'s output. Every expected figure is worked out by hand:
 *
 *   g/kWh = lb/kWh x 453.6: coal 2.23 -> 1011.528, petroleum 2.13 -> 966.168, natural gas 0.91 -> 412.776
 *   node-a 15000 J = 1/240 kWh: coal 4.2147 g, petroleum 4.0257 g, natural gas 1.7199 g
 *   node-b  5900 J = 0.0016389 kWh: coal 1.657782 g, petroleum 1.583442 g, natural gas 0.676494 g
 *   total  20900 J: coal 5.872482 g, petroleum 5.609142 g, natural gas 2.396394 g
 *   a cost of 3600 J = 0.001 kWh: coal 1.011528 g, petroleum 0.966168 g, natural gas 0.412776 g
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CO2_SOURCES, co2GramsBySource } from "../../src/prometheus/co2-sources.js";
import { co2Figures, measureWindows } from "../../src/prometheus/cost.js";
import { costJson, costText, type CostReport } from "../../src/prometheus/energy-output.js";
import { KEPLER_LINES } from "../../src/prometheus/kepler-metrics.js";
import { jsonLines } from "./cli.js";
import { WINDOW } from "./fixtures.js";
import { backfillWithMixed } from "./detect-fixtures.js";
import { energyAt, window } from "./energy-cli.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";

const EXACT = 12; // decimal places: these are products of a few exact decimals

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: backfillWithMixed() });
}, 60_000);
afterAll(async () => {
  await prom?.stop();
});

describe("CO2 by generating fuel", () => {
  it("keeps EIA's factors in one place, converted at 453.6 g per pound", () => {
    expect(CO2_SOURCES.map((f) => [f.source, f.lbPerKwh])).toEqual([
      ["coal", 2.23],
      ["petroleum", 2.13],
      ["naturalGas", 0.91],
    ]);
    const g = Object.fromEntries(CO2_SOURCES.map((f) => [f.source, f.gPerKwh]));
    expect(g.coal).toBeCloseTo(1011.528, EXACT);
    expect(g.petroleum).toBeCloseTo(966.168, EXACT);
    expect(g.naturalGas).toBeCloseTo(412.776, EXACT);
    const one = co2GramsBySource(3_600_000); // 1 kWh
    expect(one.coal).toBeCloseTo(1011.528, EXACT);
    const cost = co2Figures(3600, 500);
    expect(cost.co2G).toBeCloseTo(0.5, EXACT);
    expect(cost.co2BySourceG.coal).toBeCloseTo(1.011528, EXACT);
    expect(cost.co2BySourceG.petroleum).toBeCloseTo(0.966168, EXACT);
    expect(cost.co2BySourceG.naturalGas).toBeCloseTo(0.412776, EXACT);
  });

  it("`energy --json`: per node and in the summary, from the real Prometheus' figures", async () => {
    const r = await energyAt(prom.url, window(WINDOW), { json: true });
    expect(r.code).toBe(0);
    const objs = jsonLines(r.stdout);
    const row = (node: string) => objs.find((o) => o.node === node) as Record<string, number>;
    const summary = objs.find((o) => o.type === "summary") as Record<string, unknown> &
      Record<string, number>;
    const want: Array<[Record<string, number>, number, number, number]> = [
      [row("node-a"), 4.2147, 4.0257, 1.7199],
      [row("node-b"), 1.657782, 1.583442, 0.676494],
      [summary, 5.872482, 5.609142, 2.396394],
    ];
    for (const [got, coal, petroleum, gas] of want) {
      expect(got.co2CoalG).toBeCloseTo(coal, EXACT);
      expect(got.co2PetroleumG).toBeCloseTo(petroleum, EXACT);
      expect(got.co2NaturalGasG).toBeCloseTo(gas, EXACT);
    }
    expect(summary.co2Sources).toMatchObject({
      lbPerKwh: { coal: 2.23, petroleum: 2.13, naturalGas: 0.91 },
      reference: expect.stringContaining("EIA"),
    });
  });

  it("`energy` table: a column per fuel, and the factors with their source above it", async () => {
    const r = await energyAt(prom.url, window(WINDOW));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "CO2 if generated from coal 1011.528, petroleum 966.168, natural gas 412.776 g/kWh (EIA lb CO2 per kWh generated x 453.6 g/lb",
    );
    expect(r.stdout).toMatch(/CO2e \(g\) +CO2 coal \(g\) +CO2 petroleum \(g\) +CO2 natural gas \(g\)/);
    expect(r.stdout).toMatch(/\nnode-a +15000\.0 .* 1\.979 +4\.215 +4\.026 +1\.720 /); // 1.979 = 1/240 kWh x 475
  });

  it("`measure`: the cost's CO2 per fuel, in JSON and in the table", () => {
    const windows = measureWindows({ fromMs: 1_000_000, toMs: 1_060_000 }, 10_000);
    const report: CostReport = {
      by: "namespace",
      line: KEPLER_LINES.current,
      windows,
      rows: [{ key: { namespace: "batch" }, runJ: 4600, baselineJ: 1000, costJ: 3600 }],
      coverage: [],
      notes: [],
      command: ["make"],
      exitCode: 0,
    };
    const pricing = { gridIntensityGPerKwh: 500, gridSource: "test" };
    const [row, summary] = costJson(report, pricing, "http://127.0.0.1:9090") as Array<
      Record<string, number>
    >;
    for (const got of [row!, summary!]) {
      expect(got.co2G).toBeCloseTo(0.5, EXACT);
      expect(got.co2CoalG).toBeCloseTo(1.011528, EXACT);
      expect(got.co2PetroleumG).toBeCloseTo(0.966168, EXACT);
      expect(got.co2NaturalGasG).toBeCloseTo(0.412776, EXACT);
    }
    const text = costText(report, pricing, "http://127.0.0.1:9090");
    expect(text).toMatch(
      /\nbatch +4600\.0 +1000\.0 +3600\.0 +0\.001000 +60\.00 +0\.500 +1\.012 +0\.966 +0\.413\n/,
    );
  });
});
