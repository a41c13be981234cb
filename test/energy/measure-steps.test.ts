/**
 * `powerstack measure --step` end to end: the real executable, a real Prometheus scraping a stand-in
 * Kepler every 250 ms (live-exporter.ts). Parallel jobs append to one report and each keeps its exit
 * code; a step-time budget fails the step; bad step flags are refused before the command runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { powerstack, powerstackInProcess } from "./cli.js";
import { measureArgs, NO_INVENTORY } from "./energy-cli.js";
import { startLiveKepler } from "./live-kepler.js";
import { RATES, type LiveExporter } from "./live-exporter.js";
import type { RunningPrometheus } from "./prometheus-harness.js";

const FAST = ["--scrape-interval", "250ms", "--kepler-interval", "250ms"];

let exporter: LiveExporter;
let prom: RunningPrometheus;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "powerstack-steps-live-"));
  ({ exporter, prom } = await startLiveKepler());
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await exporter?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const step = (report: string, name: string, ...more: string[]) =>
  measureArgs(prom.url, ...FAST, "--step", name, "--report", report, ...more);

describe("powerstack measure --step", () => {
  it("parallel jobs append to one report, each keeping its command's exit code", async () => {
    const report = join(dir, "parallel.jsonl");
    const jobs = [0, 3, 5].map((code) =>
      powerstack([
        ...step(report, `job-${code}`),
        "--",
        "sh",
        "-c",
        `sleep 1; echo job ${code} output; exit ${code}`,
      ]),
    );
    const results = await Promise.all(jobs);
    expect(results.map((r) => r.code)).toEqual([0, 3, 5]);
    for (const [i, r] of results.entries()) {
      const code = [0, 3, 5][i]!;
      expect(r.stdout).toContain(`job ${code} output`);
      expect(r.stdout).toContain(
        `step "job-${code}": \`sh -c sleep 1; echo job ${code} output; exit ${code}\` exited ${code} after`,
      );
      expect(r.stdout).toContain(`appended to ${report}`);
    }
    const lines = readFileSync(report, "utf8").trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { step: string }).step).sort()).toEqual([
      "job-0",
      "job-3",
      "job-5",
    ]);

    const r = await powerstackInProcess([...NO_INVENTORY, "measure", "report", report]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`energy of 3 step(s) in ${report}`);
    for (const code of [0, 3, 5]) expect(r.stdout).toMatch(new RegExp(`\\njob-${code} +${code} +1\\.\\d `));
    expect(r.stdout).toMatch(/\ntotal +- +3\.\d /);
  }, 60_000);

  it("measures a busy step above idle and fails it over its --budget; a failing command's code wins", async () => {
    const report = join(dir, "budget.jsonl");
    const busy = (exit: number) => [
      "--",
      process.execPath,
      "--input-type=module",
      "-e",
      [
        `await fetch("${exporter.url}/busy/on", { method: "POST" });`,
        "await new Promise((r) => setTimeout(r, 1500));",
        `await fetch("${exporter.url}/busy/off", { method: "POST" });`,
        `process.exit(${exit});`,
      ].join(" "),
    ];
    const before = exporter.busySeconds();
    const r = await powerstackInProcess([...step(report, "bench", "--budget", "10J"), ...busy(0)]);
    const busyJ = (RATES.nodeBusy + RATES.bench) * (exporter.busySeconds() - before); // node-a CPU (node figure)
    expect(r.code).toBe(1);
    const rec = JSON.parse(readFileSync(report, "utf8").trim()) as {
      total: { costJ: number };
      tooShort: boolean;
    };
    expect(rec.tooShort).toBe(false);
    // node-a's CPU grows 100 J/s more while busy: the cost is that, give or take increase()'s extrapolation.
    expect(rec.total.costJ).toBeGreaterThan(RATES.nodeBusy * 1.5 * 0.9);
    expect(rec.total.costJ).toBeLessThan(busyJ);
    expect(r.stdout).toMatch(
      /over budget: step "bench" used [\d.]+ J above idle, more than its budget of 10\.0 J \(by [\d.]+ J\); idle noise ±/,
    );

    const failing = await powerstackInProcess([
      ...step(report, "bench-failing", "--budget", "10J"),
      ...busy(4),
    ]);
    expect(failing.code).toBe(4);
    expect(failing.stdout).toContain(`over budget: step "bench-failing"`);
  }, 60_000);

  it("refuses half a step's flags before running anything", async () => {
    const marker = join(dir, "ran");
    const r = await powerstackInProcess(measureArgs(prom.url, "--step", "build", "--", "touch", marker));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--step needs --report FILE");
    expect(existsSync(marker)).toBe(false);
    const fmt = await powerstackInProcess([
      ...step(join(dir, "x.jsonl"), "b", "--format", "junit"),
      "--",
      "touch",
      marker,
    ]);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toContain("--format applies to `measure report`");
    expect(existsSync(marker)).toBe(false);
  });

  it("still runs a command named report after --", async () => {
    const r = await powerstackInProcess(measureArgs(prom.url, ...FAST.slice(0, 2), "--", "report"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot run `report`: report not found");
  });
});
