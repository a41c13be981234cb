/**
 * The results directory of one experiment run (src/experiment/results-dir.ts): a new directory per run,
 * named for the plan and the UTC time, suffixed when taken, and nothing in it or in an earlier one ever
 * overwritten.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { dirSafe, RESULTS_FILES, ResultsDir, utcStamp } from "../../src/experiment/results-dir.js";

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});
function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), "powerstack-results-"));
  roots.push(r);
  return r;
}

const NOW = new Date("2026-12-06T05:48:09.987Z");

describe("results directory", () => {
  it("is named <plan>-<UTC yyyymmddThhmmssZ>, under a root it creates when missing", () => {
    expect(utcStamp(NOW)).toBe("20261206T054809Z");
    const root = join(tempRoot(), "results", "deeper");
    const dir = ResultsDir.create(root, "stress-baseline", NOW);
    expect(dir.path).toBe(join(root, "stress-baseline-20261206T054809Z"));
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it("takes -2, -3 when the name exists, and leaves what is there alone", () => {
    const root = tempRoot();
    const taken = join(root, "exp-20261206T054809Z");
    mkdirSync(taken);
    writeFileSync(join(taken, "plan.yaml"), "the first run's plan\n");
    const second = ResultsDir.create(root, "exp", NOW);
    const third = ResultsDir.create(root, "exp", NOW);
    expect([second.path, third.path]).toEqual([`${taken}-2`, `${taken}-3`]);
    expect(readdirSync(taken)).toEqual(["plan.yaml"]);
    expect(readFileSync(join(taken, "plan.yaml"), "utf8")).toBe("the first run's plan\n");
  });

  it("never overwrites a file it holds", () => {
    const dir = ResultsDir.create(tempRoot(), "exp", NOW);
    dir.write(RESULTS_FILES.plan, "one\n");
    expect(() => dir.write(RESULTS_FILES.plan, "two\n")).toThrow(/EEXIST/);
    expect(dir.read(RESULTS_FILES.plan)).toBe("one\n");
  });

  it("keeps the run's log as JSON lines, appended, and ignores lines after it was closed", () => {
    const dir = ResultsDir.create(tempRoot(), "exp", NOW);
    dir.log("start", { experiment: "exp" });
    dir.log("phase-done", { phase: "cpu", repetition: 1 });
    dir.close();
    dir.log("late");
    const lines = readFileSync(dir.file(RESULTS_FILES.log), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(["start", "phase-done"]);
    expect(lines[1]).toMatchObject({ phase: "cpu", repetition: 1 });
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("makes any plan name a safe directory name", () => {
    expect(dirSafe("stress baseline/../x")).toBe("stress-baseline-..-x");
    expect(dirSafe("../..")).toBe("experiment");
    expect(dirSafe("a_b.c-1")).toBe("a_b.c-1");
  });

  it("explains a root it cannot create, a directory that is not one, and missing results", () => {
    const root = tempRoot();
    const file = join(root, "a-file");
    writeFileSync(file, "");
    expect(() => ResultsDir.create(file, "exp", NOW)).toThrow(InputError);
    expect(() => ResultsDir.open(join(root, "nope"))).toThrow(/is not a results directory/);
    const dir = ResultsDir.create(root, "exp", NOW);
    const err = (() => {
      try {
        ResultsDir.open(dir.path).readJson(RESULTS_FILES.resultsJson);
      } catch (e) {
        return e as InputError;
      }
    })()!;
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${dir.path} has no results.json`);
    expect(err.fix).toContain("--reprice");
  });
});
