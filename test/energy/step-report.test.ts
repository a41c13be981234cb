/**
 * Pipeline steps against a real Prometheus holding known series (step-fixtures.ts): each step's figures
 * exactly as worked out by hand, the report of several steps as `measure report` prints it, the gate
 * passing and failing, the step too short to measure, and the CI formats checked by real tools:
 * OpenMetrics by `promtool check metrics`, JUnit XML by `xmllint --schema` against the vendored schema.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendStep, readReport } from "../../src/measure/report-file.js";
import { measureStep, type StepRecord } from "../../src/measure/step-record.js";
import { PrometheusClient } from "../../src/prometheus/client.js";
import { co2GramsBySource } from "../../src/prometheus/co2-sources.js";
import { resolveSettings } from "../../src/prometheus/settings.js";
import { powerstackInProcess, ROOT } from "./cli.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";
import { EXPECTED_STEPS, STEPS, stepBackfill } from "./step-fixtures.js";

const run = promisify(execFile);
const NO_INVENTORY = "/nonexistent/powerstack-test/inventory.yaml";
const JUNIT_XSD = join(ROOT, "test", "fixtures", "junit", "junit-10.xsd");

let prom: RunningPrometheus;
let dir: string;

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: stepBackfill() });
  dir = mkdtempSync(join(tmpdir(), "powerstack-steps-"));
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function record(name: string, w: { from: number; to: number }, exitCode = 0): Promise<StepRecord> {
  const settings = resolveSettings(NO_INVENTORY, {
    prometheus: prom.url,
    kepler: "current",
    scrapeInterval: "10s",
  });
  return measureStep(new PrometheusClient(settings.prometheusUrl), settings, {
    name,
    command: ["make", name],
    exitCode,
    window: { fromMs: w.from * 1000, toMs: w.to * 1000 },
    // No keplerIntervalMs: the current line's default (5 s) decides what is too short.
    nowMs: Date.now(),
  });
}

/** `powerstack measure report ...args`, in-process, without an inventory. */
const report = (...args: string[]) => powerstackInProcess(["-i", NO_INVENTORY, "measure", "report", ...args]);

function reportOf(file: string, steps: StepRecord[]): string {
  const path = join(dir, file);
  rmSync(path, { force: true });
  for (const s of steps) appendStep(path, s);
  return path;
}

describe("measure steps: figures", () => {
  it("gives each step's energy per node and namespace above idle, platform, CO2e and noise exactly", async () => {
    const build = await record("build", STEPS.build, 0);
    const e = EXPECTED_STEPS.build;
    expect(build).toMatchObject({
      step: "build",
      exitCode: 0,
      tooShort: false,
      commandWindow: { seconds: 120 },
      run: { from: new Date(STEPS.build.from * 1000).toISOString(), seconds: 120 },
      baseline: { to: new Date(STEPS.build.from * 1000).toISOString(), seconds: 120 },
      kepler: "current",
      gridIntensityGPerKwh: 475,
    });
    const nodes = Object.fromEntries(build.nodes.map((n) => [n.node, n]));
    expect(nodes["node-a"]).toMatchObject(e.nodes["node-a"]);
    expect(nodes["node-b"]).toMatchObject(e.nodes["node-b"]);
    expect(Object.fromEntries(build.namespaces.map((n) => [n.namespace, n.costJ]))).toEqual(e.namespaces);
    expect(build.total.costJ).toBe(e.totalJ);
    expect(build.total.costW).toBe(e.totalJ / 120);
    expect(build.total.co2G).toBeCloseTo((e.totalJ / 3.6e6) * 475, 12);
    expect(build.total.co2BySourceG).toEqual(co2GramsBySource(e.totalJ)); // cost.ts' per-fuel figures
    expect(build.total.platform!.costJ).toBeCloseTo(e.platformJ, 6);
    expect(nodes["node-a"]!.platform!.costJ).toBeCloseTo(e.platformJ, 6);
    expect(nodes["node-b"]!.platform).toBeNull();
    expect(build.noise!.slices).toBe(6);
    expect(build.noise!.meanW).toBeCloseTo(60, 9);
    expect(build.noise!.W).toBeCloseTo(e.noiseW, 9);
    expect(build.noise!.J).toBeCloseTo(e.noiseJ, 6);

    const test = await record("test", STEPS.test, 3);
    const t = EXPECTED_STEPS.test;
    expect(test.exitCode).toBe(3);
    expect(Object.fromEntries(test.nodes.map((n) => [n.node, n]))["node-b"]).toMatchObject(t.nodes["node-b"]);
    expect(test.total.costJ).toBe(t.totalJ);
    expect(Object.fromEntries(test.namespaces.map((n) => [n.namespace, n.costJ]))).toEqual(t.namespaces);
    expect(test.noise!.slices).toBe(3);
    expect(test.noise!.J).toBeCloseTo(t.noiseJ, 6);
    expect(test.total.platform!.costJ).toBeCloseTo(t.platformJ, 6);
  });

  it("marks a step shorter than Kepler's sampling interval as too short, never as a figure", async () => {
    const tiny = await record("tiny", STEPS.tiny);
    expect(tiny.tooShort).toBe(true);
    expect(tiny.commandWindow.seconds).toBe(2);
    expect(tiny.run.seconds).toBe(20); // lengthened to two scrapes, as plain `measure` does
    expect(tiny.noise).toBeNull(); // a 20 s baseline holds one slice of two scrapes: no spread to read

    const path = reportOf("tiny.jsonl", [tiny]);
    const r = await report(path);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\ntiny +0 +2\.0 +too short +too short +too short +too short +too short\n/);
    expect(r.stdout).toContain(
      `note: step "tiny" is too short to measure: ran 2 s, less than Kepler's 5 s sampling interval (not in the total)`,
    );
    expect(r.stdout).toMatch(/\ntotal +- +2\.0 +0\.0 /);
  });
});

describe("measure report", () => {
  let main: string;
  let branch: string;
  let steps: Record<string, StepRecord>;

  beforeAll(async () => {
    steps = {
      build: await record("build", STEPS.build),
      test: await record("test", STEPS.test),
      tiny: await record("tiny", STEPS.tiny),
      buildAgain: await record("build", STEPS.buildAgain),
    };
    main = reportOf("main.jsonl", [steps.build!, steps.test!, steps.tiny!]);
    branch = reportOf("branch.jsonl", [steps.buildAgain!, steps.test!, steps.tiny!]);
  });

  it("prints every step and the total of the measured ones", async () => {
    const r = await report(main);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `energy of 3 step(s) in ${main}: CPU package (RAPL zone package) above the idle baseline`,
    );
    expect(r.stdout).toMatch(
      /step +exit +duration \(s\) +energy above idle \(J\) +extra power \(W\) +platform above idle \(J\) +CO2e \(g\) +idle noise \(±J\)/,
    );
    expect(r.stdout).toMatch(/\nbuild +0 +120\.0 +12000\.0 +100\.00 +15230\.8 +1\.583 +1314\.5\n/);
    expect(r.stdout).toMatch(/\ntest +0 +60\.0 +2600\.0 +43\.33 +3214\.3 +0\.343 +692\.8\n/);
    expect(r.stdout).toMatch(/\ntotal +- +182\.0 +14600\.0 +- +18445\.1 +1\.926 +-/);
  });

  it("reads several files, and a step recorded twice counts once (the latest)", async () => {
    const r = await powerstackInProcess(["-i", NO_INVENTORY, "--json", "measure", "report", main, branch]);
    expect(r.code).toBe(0);
    const objs = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as StepRecord & { type: string });
    expect(objs.map((o) => [o.step, o.total.costJ])).toEqual([
      ["build", 14400],
      ["test", 2600],
      ["tiny", expect.any(Number)],
    ]);
  });

  it("gate: passes within --max-increase and --budget, exit 0", async () => {
    const r = await report(branch, "--baseline", main, "--max-increase", "25%", "--budget", "test=3kJ");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `ok: step "build" used 14.40 kJ above idle, +20% on the baseline's 12.00 kJ, limit +25%`,
    );
    expect(r.stdout).toContain(`ok: step "test" used 2.60 kJ above idle, within its budget of 3.00 kJ`);
    expect(r.stdout).toContain(`skipped: step "tiny" is too short to measure`);
  });

  it("gate: fails a step over its baseline or budget with both figures and the noise, exit 1", async () => {
    const r = await report(branch, "--baseline", main, "--max-increase", "10%", "--budget", "test=2kJ");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `over baseline: step "build" used 14.40 kJ above idle, +20% on the baseline's 12.00 kJ, limit +10%; ` +
        `idle noise ±1.31 kJ (idle power spread ±10.95 W over 6 slices) now, ±1.31 kJ (idle power spread ±10.95 W over 6 slices) in the baseline`,
    );
    expect(r.stdout).toContain(
      `over budget: step "test" used 2.60 kJ above idle, more than its budget of 2.00 kJ (by 600.0 J); idle noise ±692.8 J`,
    );
    expect(r.stdout).toContain(
      `ok: step "test" used 2.60 kJ above idle, +0% on the baseline's 2.60 kJ, limit +10%`,
    );
  });

  it("refuses a gate it cannot apply, before reading anything else", async () => {
    const r = await report(main, "--max-increase", "10%");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--max-increase needs --baseline FILE");
    const bad = await report(main, "--budget", "50 kilojoules");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--budget "50 kilojoules" is not an energy`);
  });

  it("names file:line of a broken report line", async () => {
    const path = join(dir, "broken.jsonl");
    writeFileSync(path, `${readFileSync(main, "utf8")}{"powerstackStep":1,"step":"cut`);
    const r = await report(path);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${path}:4(:\\d+)?: not a step record`));
  });

  it("writes OpenMetrics that promtool accepts", async () => {
    const r = await report(main, "--format", "openmetrics");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('powerstack_step_energy_joules{step="build"} 12000\n');
    expect(r.stdout).toContain(
      'powerstack_step_namespace_energy_joules{step="build",namespace="ci"} 10800\n',
    );
    expect(r.stdout).toContain('powerstack_step_too_short{step="tiny"} 1\n');
    expect(r.stdout).toMatch(/\npowerstack_step_co2_by_source_grams\{step="build",source="coal"\} [\d.]+\n/);
    expect(r.stdout).not.toContain('powerstack_step_energy_joules{step="tiny"}');
    expect(r.stdout.endsWith("# EOF\n")).toBe(true);
    const file = join(dir, "metrics.txt");
    writeFileSync(file, r.stdout);
    const check = await run("sh", ["-c", `promtool check metrics < "${file}"`]).then(
      (x) => ({ code: 0, ...x }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(check.stderr + check.stdout).toBe("");
    expect(check.code).toBe(0);
  });

  it("writes JUnit XML valid against the JUnit schema, failing the steps over the gate", async () => {
    const r = await report(branch, "--format", "junit", "--baseline", main, "--max-increase", "10%");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`over baseline: step "build"`);
    const file = join(dir, "energy.xml");
    writeFileSync(file, r.stdout);
    const lint = await run("xmllint", ["--noout", "--schema", JUNIT_XSD, file]);
    expect(lint.stderr).toContain("validates");
    expect(r.stdout).toContain('<testsuites name="powerstack energy" tests="3" failures="1" errors="0"');
    expect(r.stdout).toMatch(
      /<testcase name="build" classname="powerstack.energy" time="120.000">\s*<failure type="energy"/,
    );
    expect(r.stdout).toContain('<property name="energy_above_idle_j" value="14400"/>');
    expect(r.stdout).toMatch(/<testcase name="tiny"[^>]*>\s*<skipped message="too short to measure/);
  });

  it("rejects invalid JUnit with the same schema (the check can fail)", async () => {
    const file = join(dir, "invalid.xml");
    writeFileSync(file, '<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>\n');
    await expect(run("xmllint", ["--noout", "--schema", JUNIT_XSD, file])).rejects.toMatchObject({
      stderr: expect.stringContaining("fails to validate"),
    });
  });

  it("writes Markdown for a job summary", async () => {
    const r = await report(main, "--format", "markdown");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("### Energy per step\n");
    expect(r.stdout).toContain("| step | exit | duration (s) | energy above idle (J) |");
    expect(r.stdout).toContain("| build | 0 | 120.0 | 12000.0 | 100.00 | 15230.8 | 1.583 | 1314.5 |");
    expect(r.stdout).toContain("| **total** | **-** | **182.0** | **14600.0** |");
  });

  it("keeps every step of the report file as it was written", () => {
    expect(readReport(main).map((s) => s.step)).toEqual(["build", "test", "tiny"]);
  });
});
