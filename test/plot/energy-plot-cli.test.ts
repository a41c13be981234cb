/**
 * `powerstack energy --plot FILE` and `plotExperiment` against a real Prometheus holding the energy
 * fixtures: the printed output is what it is without --plot, the file is written whole in the format its
 * extension names, and bad plot arguments fail with one clear error before anything is queried.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { writePlot, plotExperiment } from "../../src/plot/plot-file.js";
import { PrometheusClient } from "../../src/prometheus/client.js";
import { KEPLER_LINES } from "../../src/prometheus/kepler-metrics.js";
import { jsonLines } from "../energy/cli.js";
import { energyAt, window } from "../energy/energy-cli.js";
import { backfill, T, WINDOW } from "../energy/fixtures.js";
import { startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { pngSize, xmlErrors } from "./plot-fixtures.js";

let prom: RunningPrometheus;
let dir: string;

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: backfill() });
  dir = mkdtempSync(join(tmpdir(), "powerstack-plot-"));
}, 60_000);

afterEach(() => {
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const energy = (more: string[], json = false) =>
  energyAt(prom.url, [...window(WINDOW), "--by", "namespace", ...more], { json });

describe("powerstack energy --plot", () => {
  it("writes the SVG and prints its path after the unchanged table", async () => {
    // The default zone is TZ's when it names one: a runner with TZ set must not change this test.
    vi.stubEnv("TZ", "");
    const file = join(dir, "by-namespace.svg");
    const plain = await energy([]);
    const plotted = await energy(["--plot", file]);
    expect(plotted.code, plotted.stderr).toBe(0);
    expect(plotted.stdout).toBe(`${plain.stdout}plot: ${file}\n`);
    const svg = readFileSync(file, "utf8");
    expect(xmlErrors(svg)).toBe("");
    for (const text of [">batch<", ">web<", ">power (W)<", ">energy (kJ)<", ">time (UTC)<", ">11.9 kJ<"])
      expect(svg).toContain(text);
    // No inventory says 30 s, but the series are scraped every 10 s: the rate range follows the samples.
    expect(svg).toContain("each point the mean over the 40 s before it");
    // Written whole: nothing but the plot is left in the directory (no temp file).
    expect(readdirSync(dir)).toEqual(["by-namespace.svg"]);
  });

  it("writes a PNG for .png, and in --json mode says so as one more JSON object", async () => {
    const file = join(dir, "by-namespace.PNG");
    const plain = await energy([], true);
    const plotted = await energy(["--plot", file, "--tz", "Europe/Berlin"], true);
    expect(plotted.code, plotted.stderr).toBe(0);
    const objects = jsonLines(plotted.stdout);
    expect(objects.slice(0, -1)).toEqual(jsonLines(plain.stdout));
    expect(objects.at(-1)).toEqual({ type: "plot", file });
    expect(pngSize(readFileSync(file))).toEqual({ width: 1200, height: 640 });
  });

  it("refuses a file name whose extension is neither .svg nor .png, before querying", async () => {
    const r = await energyAt("http://127.0.0.1:9/", [...window(WINDOW), "--plot", join(dir, "energy.pdf")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--plot");
    expect(r.stderr).toContain(".svg or .png");
    expect(r.stderr).not.toContain("cannot reach Prometheus");
    expect(readdirSync(dir)).not.toContain("energy.pdf");
  });

  it("refuses a --tz that is not a zone, and --tz without --plot", async () => {
    const bad = await energyAt(prom.url, [
      ...window(WINDOW),
      "--plot",
      join(dir, "x.svg"),
      "--tz",
      "Mars/Olympus",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tz "Mars/Olympus" is not a time zone');
    const alone = await energyAt(prom.url, [...window(WINDOW), "--tz", "UTC"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--tz without --plot");
  });

  it("says which directory is missing instead of failing with a stack trace", async () => {
    const r = await energy(["--plot", join(dir, "no-such-dir", "energy.svg")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot write the plot");
    expect(r.stderr).toContain("its directory does not exist");
  });
});

describe("plotExperiment (experiment report --plot)", () => {
  it("draws the experiment's window with its phases and scrape gaps, and returns data that re-renders the same file", async () => {
    const file = join(dir, "experiment.svg");
    const phases = [
      { label: "idle", startMs: (T + 100) * 1000, endMs: (T + 190) * 1000 },
      { label: "cpu 50% x4", startMs: (T + 200) * 1000, endMs: (T + 400) * 1000 },
    ];
    const data = await plotExperiment(new PrometheusClient(prom.url), {
      window: { fromMs: WINDOW.from * 1000, toMs: WINDOW.to * 1000 },
      phases,
      by: "pod",
      line: KEPLER_LINES.current,
      flavourSource: { from: "flag" },
      scrapeIntervalMs: 10_000,
      file,
      title: "Experiment cpu-sweep",
    });
    const svg = readFileSync(file, "utf8");
    expect(xmlErrors(svg)).toBe("");
    for (const text of [
      ">idle<",
      ">cpu 50% x4<",
      "Experiment cpu-sweep",
      ">batch/job-1<",
      ">no samples: node-a<",
    ])
      expect(svg).toContain(text);
    expect(data.gaps).toEqual([{ node: "node-a", fromMs: (T + 290) * 1000, toMs: (T + 350) * 1000 }]);

    // A results directory keeps `data` (JSON) and re-renders offline: the same bytes.
    const again = join(dir, "experiment-again.svg");
    await writePlot(again, JSON.parse(JSON.stringify(data)), { phases, title: "Experiment cpu-sweep" });
    expect(readFileSync(again, "utf8")).toBe(svg);
  });

  it("names the flag it was given when the extension is wrong", async () => {
    await expect(
      plotExperiment(new PrometheusClient(prom.url), {
        window: { fromMs: WINDOW.from * 1000, toMs: WINDOW.to * 1000 },
        phases: [],
        by: "node",
        line: KEPLER_LINES.current,
        flavourSource: { from: "flag" },
        scrapeIntervalMs: 10_000,
        file: join(dir, "experiment.jpg"),
        flag: "experiment report --plot",
      }),
    ).rejects.toThrow("experiment report --plot");
  });
});
