/** The gate's arithmetic and flags on hand-made records (the real-Prometheus cases are in step-report.test.ts). */
import { describe, expect, it } from "vitest";
import { gate, parseEnergy, parseLimits, parsePercent } from "../../src/measure/gate.js";
import { overlapCaveats, withoutCredentials, type StepRecord } from "../../src/measure/step-record.js";
import { HAND_MADE_START, handMadeStep } from "./hand-made-step.js";

function step(name: string, costJ: number, more: Partial<StepRecord> = {}): StepRecord {
  const noise = { W: 2, J: 200, meanW: 50, slices: 4, from: "2024-12-31T23:58:00.000Z", to: HAND_MADE_START };
  return handMadeStep(name, 100, { runJ: costJ, baselineJ: 0, costJ }, { noise, ...more });
}

const none = () => parseLimits("budget", [], parseEnergy);

describe("gate", () => {
  it("parses energies and percentages with their units, and refuses others", () => {
    expect(parseEnergy("50kJ")).toBe(50_000);
    expect(parseEnergy("1.5 MJ")).toBe(1_500_000);
    expect(parseEnergy("0.5kWh")).toBe(1_800_000);
    expect(parseEnergy("10Wh")).toBe(36_000);
    expect(() => parseEnergy("50")).toThrow(/--budget "50" is not an energy/);
    expect(() => parseEnergy("-5kJ")).toThrow(/not an energy/);
    expect(parsePercent("10%")).toBeCloseTo(0.1, 12);
    expect(() => parsePercent("10")).toThrow(/--max-increase "10" is not a percentage/);
    expect(() => parseLimits("budget", ["1kJ", "2kJ"], parseEnergy)).toThrow(/given twice for every step/);
  });

  it("a step's own limit wins over the general one", () => {
    const budget = parseLimits("budget", ["1kJ", "build=5kJ"], parseEnergy);
    const lines = gate([step("build", 4000), step("test", 4000)], {
      budget,
      maxIncrease: parseLimits("max-increase", [], parsePercent),
    });
    expect(lines.map((l) => [l.step, l.verdict])).toEqual([
      ["build", "ok"],
      ["test", "over"],
    ]);
    expect(lines[1]!.text).toBe(
      'over budget: step "test" used 4.00 kJ above idle, more than its budget of 1.00 kJ (by 3.00 kJ); idle noise ±200.0 J (idle power spread ±2.00 W over 4 slices)',
    );
  });

  it("compares only what it can: no baseline step, a baseline at or below zero, a too-short step", () => {
    const maxIncrease = parseLimits("max-increase", ["10%"], parsePercent);
    const baseline = {
      file: "main.jsonl",
      steps: [step("zero", -30), step("short", 100, { tooShort: true })],
    };
    const lines = gate([step("new", 500), step("zero", 500), step("short", 900)], {
      baseline,
      maxIncrease,
      budget: none(),
    });
    expect(lines.map((l) => l.verdict)).toEqual(["skipped", "skipped", "skipped"]);
    expect(lines[0]!.text).toBe('skipped: step "new" has no baseline in main.jsonl; not compared');
    expect(lines[1]!.text).toContain(
      "cost -30.0 J above idle in the baseline: a percentage of that means nothing",
    );
    expect(lines[2]!.text).toContain('step "short" in the baseline was too short to measure');
  });

  it("says when an increase over the limit is within the idle noise", () => {
    const maxIncrease = parseLimits("max-increase", ["10%"], parsePercent);
    const baseline = { file: "main.jsonl", steps: [step("build", 1000)] };
    const [line] = gate([step("build", 1200)], { baseline, maxIncrease, budget: none() });
    expect(line!.verdict).toBe("over");
    expect(line!.text).toMatch(
      /\+20% on the baseline's 1\.00 kJ, limit \+10%; .* \(within the idle noise: may be chance\)$/,
    );
    const [clear] = gate([step("build", 2000)], { baseline, maxIncrease, budget: none() });
    expect(clear!.text).not.toContain("may be chance");
  });
});

describe("step record", () => {
  it("says when an earlier step ran inside this step's idle baseline or noise window", () => {
    const at = (from: string, to: string) => ({
      from,
      to,
      seconds: (Date.parse(to) - Date.parse(from)) / 1000,
    });
    const test = step("test", 100, {
      run: at("2025-01-01T00:10:00.000Z", "2025-01-01T00:11:00.000Z"),
      baseline: at("2025-01-01T00:09:00.000Z", "2025-01-01T00:10:00.000Z"),
      noise: {
        W: 1,
        J: 60,
        meanW: 50,
        slices: 6,
        from: "2025-01-01T00:08:00.000Z",
        to: "2025-01-01T00:10:00.000Z",
      },
    });
    const backToBack = step("build", 100, {
      run: at("2025-01-01T00:05:00.000Z", "2025-01-01T00:09:30.000Z"),
    });
    const before = step("lint", 100, { run: at("2025-01-01T00:07:00.000Z", "2025-01-01T00:08:30.000Z") });
    const apart = step("deps", 100, { run: at("2025-01-01T00:01:00.000Z", "2025-01-01T00:02:00.000Z") });
    expect(overlapCaveats(test, [apart, before, backToBack])).toEqual([
      'overlap: the idle noise window (2025-01-01T00:08:00.000Z to 2025-01-01T00:10:00.000Z) overlaps step "lint": the noise is overstated',
      'overlap: the idle baseline (2025-01-01T00:09:00.000Z to 2025-01-01T00:10:00.000Z) overlaps step "build" (2025-01-01T00:05:00.000Z to 2025-01-01T00:09:30.000Z): its energy counts as idle here, so this step\'s cost is understated; leave 60 s idle before the step, or record both in one report',
    ]);
  });

  it("never stores Prometheus credentials in a report", () => {
    expect(withoutCredentials("https://ci:s3cret@prom.example:9090/prometheus/")).toBe(
      "https://prom.example:9090/prometheus",
    );
    expect(withoutCredentials("http://127.0.0.1:9090")).toBe("http://127.0.0.1:9090");
  });
});
