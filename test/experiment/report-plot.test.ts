/**
 * `powerstack experiment report DIR --plot FILE` against a real Prometheus holding the phase fixtures
 * (phase-fixtures.ts): the experiment's whole window drawn per node with every phase run as a labelled
 * band, the table printed as without --plot, and the flag refused where it does not apply.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { RESULTS_FILES } from "../../src/experiment/results-dir.js";
import { powerstackInProcess } from "../energy/cli.js";
import { NO_INVENTORY } from "../energy/energy-cli.js";
import { startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { pngSize, xmlErrors } from "../plot/plot-fixtures.js";
import { NAMESPACE, PLAN, RUNS, phaseBackfill } from "./phase-fixtures.js";

let prom: RunningPrometheus;
let root: string;
let results: string;

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: phaseBackfill() });
  root = mkdtempSync(join(tmpdir(), "powerstack-exp-plot-"));
  // A results directory as `experiment run` leaves it when pricing did not happen: plan and phases only.
  results = join(root, "fixture-20231114T221320Z");
  mkdirSync(results);
  writeFileSync(
    join(results, RESULTS_FILES.plan),
    stringify({ name: "fixture", namespace: NAMESPACE, phases: PLAN.phases }),
  );
  writeFileSync(join(results, RESULTS_FILES.phases), JSON.stringify(RUNS));
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const report = (...more: string[]) =>
  powerstackInProcess([
    ...NO_INVENTORY,
    "experiment",
    "report",
    results,
    "--reprice",
    "--prometheus",
    prom.url,
    ...more,
  ]);

describe("powerstack experiment report --plot", () => {
  it("draws power per node over the experiment with every phase run marked, after the unchanged table", async () => {
    const file = join(root, "experiment.svg");
    const plain = await report();
    const plotted = await report("--plot", file, "--tz", "UTC");
    expect(plotted.code, plotted.stderr).toBe(0);
    expect(plotted.stdout).toBe(`${plain.stdout}plot: ${file}\n`);
    const svg = readFileSync(file, "utf8");
    expect(xmlErrors(svg)).toBe("");
    for (const r of RUNS) expect(svg).toContain(`${r.phase} #${r.repetition}`);
    for (const text of ["node-a", "node-b", "power (W)", "time (UTC)", "Experiment fixture"])
      expect(svg).toContain(text);
  });

  it("writes a PNG when the file says so", async () => {
    const file = join(root, "experiment.png");
    const r = await report("--plot", file);
    expect(r.code, r.stderr).toBe(0);
    expect(pngSize(readFileSync(file))).toEqual({ width: expect.any(Number), height: expect.any(Number) });
  });

  it("refuses --plot on `experiment run` and --tz without --plot, before anything is read", async () => {
    const run = await powerstackInProcess([
      ...NO_INVENTORY,
      "experiment",
      "run",
      "plan.yaml",
      "--plot",
      "x.svg",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--plot applies to `experiment report`");
    const tz = await report("--tz", "UTC");
    expect(tz.code).toBe(2);
    expect(tz.stderr).toContain("--tz without --plot");
  });
});
