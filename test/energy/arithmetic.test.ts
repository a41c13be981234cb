/** Pure pieces under the energy commands: windows and durations, carbon arithmetic, coverage, cost. */
import { describe, expect, it } from "vitest";
import { costRows, measureWindows } from "../../src/prometheus/cost.js";
import { analyse } from "../../src/prometheus/coverage.js";
import { co2Grams, figures, kwh } from "../../src/prometheus/energy-math.js";
import { parseDuration, promRange, resolveWindow } from "../../src/prometheus/window.js";

describe("windows", () => {
  const now = Date.UTC(2025, 2, 1, 12, 0, 0);

  it("parses Prometheus-style durations, compound and fractional", () => {
    expect(parseDuration("1h30m", "--since")).toBe(5_400_000);
    expect(parseDuration("1.5s", "--since")).toBe(1_500);
    expect(parseDuration("250ms", "--scrape-interval")).toBe(250);
    expect(() => parseDuration("1 hour", "--since")).toThrow(/--since "1 hour" is not a duration/);
  });

  it("resolves --since, --from/--to (RFC 3339 or unix seconds) and rejects an empty window", () => {
    expect(resolveWindow({ since: "1h" }, now)).toEqual({ fromMs: now - 3_600_000, toMs: now });
    expect(resolveWindow({ from: "2025-03-01T11:00:00Z", to: "1740830400" }, now)).toEqual({
      fromMs: now - 3_600_000,
      toMs: now,
    });
    expect(resolveWindow({ since: "30m", to: "2025-03-01T13:00:00+01:00" }, now)).toEqual({
      fromMs: now - 1_800_000,
      toMs: now,
    });
    expect(() => resolveWindow({ from: "2025-03-01T11:00:00" }, now)).toThrow(/is not a time/); // no zone: ambiguous
    expect(() => resolveWindow({ from: "1740830400", to: "1740830400" }, now)).toThrow(/the window is empty/);
    expect(promRange({ fromMs: 0, toMs: 2_500 })).toBe("2500ms");
  });
});

describe("carbon arithmetic", () => {
  it("converts joules to kWh and grams of CO2e at the grid intensity", () => {
    expect(kwh(3_600_000)).toBe(1);
    expect(co2Grams(7_200_000, 475)).toBe(950);
    expect(figures(18_000, 60, 400)).toEqual({ joules: 18_000, kwh: 0.005, watts: 300, co2G: 2 });
  });
});

describe("coverage", () => {
  const w = { fromMs: 0, toMs: 100_000 };
  const every10s = (skip: number[] = []) =>
    Array.from({ length: 11 }, (_, i): [number, number] => [i * 10_000, 100 + i]).filter(
      ([t]) => !skip.includes(t),
    );

  it("finds a gap inside, at the start and at the end, and the resets", () => {
    const c = analyse("n", [every10s([40_000, 50_000]).filter(([t]) => t >= 20_000 && t <= 80_000)], w);
    expect(c.intervalS).toBe(10);
    expect(c.gaps.map((g) => [g.where, g.fromMs, g.toMs, g.missedScrapes])).toEqual([
      ["start", 0, 20_000, 2],
      ["inside", 30_000, 60_000, 2],
      ["end", 80_000, 100_000, 2],
    ]);
    const reset = analyse(
      "n",
      [
        [
          [0, 5],
          [10_000, 9],
          [20_000, 1],
          [30_000, 4],
        ],
      ],
      { fromMs: 0, toMs: 30_000 },
    );
    expect(reset.resetsMs).toEqual([20_000]);
    expect(reset.gaps).toEqual([]);
  });

  it("counts a scrape once across the series of one node", () => {
    const c = analyse("n", [every10s(), every10s()], w);
    expect(c.samples).toBe(11);
    expect(c.gaps).toEqual([]);
  });
});

describe("measure's windows and cost", () => {
  it("gives the baseline the run's length, lengthening a run shorter than two scrapes", () => {
    expect(measureWindows({ fromMs: 10_000, toMs: 13_000 }, 1_000)).toMatchObject({
      run: { fromMs: 10_000, toMs: 13_000 },
      baseline: { fromMs: 7_000, toMs: 10_000 },
    });
    expect(measureWindows({ fromMs: 10_000, toMs: 10_100 }, 1_000)).toMatchObject({
      run: { fromMs: 10_000, toMs: 12_000 },
      baseline: { fromMs: 8_000, toMs: 10_000 },
    });
  });

  it("takes the baseline before the pipeline's earlier steps when they ran in the window just before", () => {
    const step = { fromMs: 100_000, toMs: 130_000 }; // 30 s
    // build ran back to back before it, lint before build with a 5 s gap: the baseline goes before both.
    const build = { fromMs: 60_000, toMs: 100_000 };
    const lint = { fromMs: 40_000, toMs: 55_000 };
    expect(measureWindows(step, 5_000, [build, lint]).baseline).toEqual({ fromMs: 10_000, toMs: 40_000 });
    // An earlier step that ended long enough before leaves the window just before as it was.
    expect(measureWindows(step, 5_000, [{ fromMs: 0, toMs: 60_000 }]).baseline).toEqual({
      fromMs: 70_000,
      toMs: 100_000,
    });
    // A parallel job that started before this step and still runs: the baseline ends before its start.
    expect(measureWindows(step, 5_000, [{ fromMs: 90_000, toMs: 140_000 }]).baseline).toEqual({
      fromMs: 60_000,
      toMs: 90_000,
    });
  });

  it("subtracts the baseline per group, a group missing from one window counting 0 J, sorted by cost", () => {
    const rows = costRows(
      [
        { key: { namespace: "a" }, joules: 50 },
        { key: { namespace: "new" }, joules: 30 },
      ],
      [
        { key: { namespace: "a" }, joules: 45 },
        { key: { namespace: "gone" }, joules: 2 },
      ],
    );
    expect(rows).toEqual([
      { key: { namespace: "new" }, runJ: 30, baselineJ: 0, costJ: 30 },
      { key: { namespace: "a" }, runJ: 50, baselineJ: 45, costJ: 5 },
      { key: { namespace: "gone" }, runJ: 0, baselineJ: 2, costJ: -2 },
    ]);
  });
});
