/**
 * `powerstack measure` against a real Prometheus scraping a stand-in Kepler every 250 ms (live-exporter.ts):
 * the measured command switches the exporter's "busy" load on for 2 s, so its cost is known; the idle
 * namespace grows at the same rate before and during the run, so its cost must cancel out. The first
 * test runs the real executable (the exit code must be the process'); the others call `main()`.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, powerstack, powerstackInProcess } from "./cli.js";
import { measureArgs, NO_INVENTORY } from "./energy-cli.js";
import { startLiveKepler } from "./live-kepler.js";
import { RATES, type LiveExporter } from "./live-exporter.js";
import { freePort, type RunningPrometheus } from "./prometheus-harness.js";

const SCRAPE = ["--scrape-interval", "250ms"];

let exporter: LiveExporter;
let prom: RunningPrometheus;

beforeAll(async () => {
  ({ exporter, prom } = await startLiveKepler());
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await exporter?.close();
});

describe("powerstack measure", () => {
  it("reports the command's cost above the idle baseline and passes its exit code through", async () => {
    const script = [
      `await fetch("${exporter.url}/busy/on", { method: "POST" });`,
      "await new Promise((r) => setTimeout(r, 2000));",
      `await fetch("${exporter.url}/busy/off", { method: "POST" });`,
      'console.log("the benchmark\'s own output");',
      "process.exit(3);",
    ].join(" ");
    const r = await powerstack([
      ...NO_INVENTORY,
      "--json",
      "measure",
      "--prometheus",
      prom.url,
      ...SCRAPE,
      "--by",
      "namespace",
      "--",
      process.execPath,
      "--input-type=module",
      "-e",
      script,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("the benchmark's own output"); // stdout is for the JSON answer only
    const objs = jsonLines(r.stdout);
    const rows = Object.fromEntries(
      objs.filter((o) => o.type === "row").map((o) => [o.namespace, o as Record<string, number>]),
    );
    const summary = objs.find((o) => o.type === "summary")! as Record<string, unknown> & {
      run: { seconds: number };
    };
    expect(summary.exitCode).toBe(3);
    const seconds = summary.run.seconds;
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(summary.baseline).toMatchObject({ seconds });

    // idle: 25 J/s in both windows. For a straight line increase()'s extrapolation to the window's edges
    // lands on the line (exact); a scrape delayed on a loaded machine limits it to half an interval, so
    // allow 10%. The cost, the difference of two such windows, is small next to the batch's.
    const idle = rows.idle!;
    expect(idle.runJ).toBeGreaterThan(RATES.idle * seconds * 0.9);
    expect(idle.runJ).toBeLessThan(RATES.idle * seconds * 1.1);
    expect(Math.abs(idle.costJ)).toBeLessThan(RATES.idle * seconds * 0.1);

    // batch: 100 J/s while busy, flat otherwise: nothing in the baseline; the run's increase is the busy
    // energy, scaled by increase()'s extrapolation to the window's edges (window / sampled span: about
    // two 250 ms intervals over a >= 2 s window, ~1.25x at most; 1.5x leaves room for late scrapes).
    const busyJ = RATES.bench * exporter.busySeconds();
    const batch = rows.batch!;
    expect(batch.baselineJ).toBe(0);
    expect(batch.costJ).toBeGreaterThan(busyJ * 0.9);
    expect(batch.costJ).toBeLessThan(busyJ * 1.5);
    expect(batch.costKwh).toBeCloseTo(batch.costJ / 3.6e6, 15);
    expect(batch.extraW).toBeCloseTo(batch.costJ / seconds, 9);
    expect(batch.co2G).toBeCloseTo((batch.costJ / 3.6e6) * 475, 12);
    expect(objs.filter((o) => o.type === "row").map((o) => o.namespace)).toEqual(["batch", "idle"]); // by cost
    expect(summary.costJ).toBeCloseTo(batch.costJ + idle.costJ, 6);
    // The baseline had data from its start (a loaded machine may still miss a 250 ms scrape inside).
    expect((summary.gaps as Array<{ where: string }>).filter((g) => g.where === "start")).toEqual([]);
  }, 20_000); // 2 s of command, a scrape's wait, the CLI's start-up

  it("lengthens a run shorter than two scrapes, prints a table, and passes a failing exit code", async () => {
    const r = await powerstackInProcess(measureArgs(prom.url, ...SCRAPE, "--", "sh", "-c", "exit 7"));
    expect(r.code).toBe(7);
    expect(r.stdout).toContain("`sh -c exit 7` exited 7 after");
    expect(r.stdout).toContain("(lengthened to two scrape intervals; the baseline matches)");
    expect(r.stdout).toMatch(
      /namespace +during run \(J\) +idle baseline \(J\) +cost \(J\) +cost \(kWh\) +extra power \(W\) +CO2e \(g\)/,
    );
    expect(r.stdout).toMatch(/\ntotal +\d/);
  });

  it("checks Prometheus before running the command", async () => {
    const dir = mkdtempSync(join(tmpdir(), "powerstack-measure-"));
    try {
      const marker = join(dir, "ran");
      const url = `http://127.0.0.1:${await freePort()}`;
      const r = await powerstackInProcess(measureArgs(url, "--", "touch", marker));
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`cannot reach Prometheus at ${url}`);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says which metric is missing before running, when the Kepler line is wrong", async () => {
    const r = await powerstackInProcess(measureArgs(prom.url, "--kepler", "legacy", ...SCRAPE, "--", "true"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no `kepler_container_joules_total` series");
    expect(r.stderr).toContain("fix: pass --kepler current");
  });
});
