/**
 * The README's example plots, drawn by powerstack itself from the test fixtures in a real Prometheus:
 *  - docs/energy-plot.{svg,png}: `powerstack energy --plot` over the energy fixtures (test/energy/fixtures.ts);
 *  - docs/experiment-plot.{svg,png}: `powerstack experiment report --plot` over the phase fixtures
 *    (test/experiment/phase-fixtures.ts), with the report's table printed as the README shows it.
 * Needs `prometheus` and `promtool` on PATH (.ci/host-packages.txt). Usage: tsx scripts/render-example-plot.ts
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { main } from "../src/cli/main.js";
import { RESULTS_FILES } from "../src/experiment/results-dir.js";
import { backfill, WINDOW } from "../test/energy/fixtures.js";
import { startPrometheus } from "../test/energy/prometheus-harness.js";
import { NAMESPACE, PLAN, RUNS, phaseBackfill } from "../test/experiment/phase-fixtures.js";

const NO_INVENTORY = ["-i", "/nonexistent/inventory.yaml"];
const docs = join(dirname(fileURLToPath(import.meta.url)), "..", "docs");
mkdirSync(docs, { recursive: true });

async function energyPlots(): Promise<void> {
  const prom = await startPrometheus({ openMetrics: backfill() });
  try {
    for (const file of ["energy-plot.svg", "energy-plot.png"]) {
      const path = join(docs, file);
      const code = await main([
        ...NO_INVENTORY,
        ...["energy", "--prometheus", prom.url],
        ...["--from", String(WINDOW.from), "--to", String(WINDOW.to), "--by", "node"],
        ...["--plot", path, "--tz", "UTC"],
      ]);
      if (code !== 0) throw new Error(`powerstack energy exited ${code}`);
      console.log(`${path}: ${statSync(path).size} bytes`);
    }
  } finally {
    await prom.stop();
  }
}

async function experimentPlots(): Promise<void> {
  const prom = await startPrometheus({ openMetrics: phaseBackfill() });
  const root = mkdtempSync(join(tmpdir(), "powerstack-example-"));
  try {
    // The fixture's results directory: the plan and the phases as `experiment run` records them.
    const results = join(root, "fixture-20231114T221320Z");
    mkdirSync(results);
    writeFileSync(
      join(results, RESULTS_FILES.plan),
      stringify({ name: "fixture", namespace: NAMESPACE, phases: PLAN.phases }),
    );
    writeFileSync(join(results, RESULTS_FILES.phases), JSON.stringify(RUNS));
    for (const file of ["experiment-plot.svg", "experiment-plot.png"]) {
      const path = join(docs, file);
      const code = await main([
        ...NO_INVENTORY,
        ...["experiment", "report", results, "--reprice", "--prometheus", prom.url],
        ...["--plot", path, "--tz", "UTC"],
      ]);
      if (code !== 0) throw new Error(`powerstack experiment report exited ${code}`);
      console.log(`${path}: ${statSync(path).size} bytes`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    await prom.stop();
  }
}

await energyPlots();
await experimentPlots();
