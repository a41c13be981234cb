/**
 * `powerstack energy` against a real Prometheus holding backfilled Kepler series of both lines (see
 * fixtures.ts for every expected number and how it was worked out by hand). The CLI runs in-process
 * (fast); the exit-code test runs the real executable.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, powerstack, powerstackInProcess } from "./cli.js";
import { energyAt, NO_INVENTORY, window } from "./energy-cli.js";
import { backfill, EXPECTED, T, WINDOW, WINDOW_LEGACY } from "./fixtures.js";
import { freePort, startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";

const KWH = 3.6e6;

let prom: RunningPrometheus;
let dir: string;
let inventory: string;

beforeAll(async () => {
  // A port in the NodePort range, so the inventory can point at this Prometheus the way it points at the cluster's.
  const port = await freePort({ min: 30100, max: 32700 });
  prom = await startPrometheus({ openMetrics: backfill(), port });
  dir = mkdtempSync(join(tmpdir(), "powerstack-energy-"));
  inventory = join(dir, "inventory.yaml");
  writeFileSync(
    inventory,
    [
      "cluster:",
      "  nfs_network: 127.0.0.0/8",
      `  node_ports: { prometheus: ${port} }`,
      "  monitoring: { scrape_interval: 10s }",
      "  kepler: { flavour: legacy }",
      "  carbon: { grid_intensity_g_per_kwh: 300 }",
      "nodes:",
      "  - { name: node1, role: control, internal_ip: 127.0.0.1, external_ip: 127.0.0.1, storage_disk: /dev/disk/by-id/test }",
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The CLI in-process with the inventory that points at this Prometheus. */
const withInventory = (...args: string[]) => powerstackInProcess(["-i", inventory, ...args]);

function rowsAndSummary(stdout: string) {
  const objs = jsonLines(stdout);
  return { rows: objs.filter((o) => o.type === "row"), summary: objs.find((o) => o.type === "summary")! };
}

describe("powerstack energy, current Kepler line", () => {
  it("prices nodes by CPU package, with DRAM and platform beside it, and reports the gap and the reset", async ({
    expect,
  }) => {
    const r = await energyAt(prom.url, [...window(WINDOW), "--by", "node"], { json: true });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { rows, summary } = rowsAndSummary(r.stdout);

    expect(rows.map((x) => x.node)).toEqual(["node-a", "node-b"]); // sorted by energy
    const [a, b] = rows as Array<Record<string, number | null>>;
    expect(a!.joules).toBe(EXPECTED.node["node-a"].cpu); // not + the core zone's 9000 J
    expect(a!.kwh).toBeCloseTo(15000 / KWH, 12);
    expect(a!.watts).toBe(50);
    expect(a!.co2G).toBeCloseTo((15000 / KWH) * 475, 12); // default grid intensity
    expect(a!.dramJ).toBe(1500);
    expect(a!.platformJ).toBe(60000); // 200 W (PC1), not PC1 + PC2
    expect(a!.platformW).toBe(200);
    expect(b!.joules).toBe(EXPECTED.node["node-b"].cpu); // 5900: across the reset
    expect(b!.dramJ).toBeNull();
    expect(b!.platformJ).toBeNull();

    expect(summary).toMatchObject({
      seconds: 300,
      kepler: "current",
      joules: 20900,
      dramJ: 1500,
      platformJ: 60000,
      gridIntensityGPerKwh: 475,
    });
    expect(summary.gaps).toEqual([
      {
        node: "node-a",
        where: "inside",
        from: iso(T + 290),
        to: iso(T + 350),
        seconds: 60,
        missedScrapes: 5,
      },
    ]);
    expect(summary.resets).toEqual([{ node: "node-b", at: iso(T + 250) }]);
    expect(summary.coverage).toEqual([
      { node: "node-a", samples: 26, intervalS: 10, first: iso(T + 100), last: iso(T + 400) },
      { node: "node-b", samples: 31, intervalS: 10, first: iso(T + 100), last: iso(T + 400) },
    ]);
  });

  it("prints an aligned table with units, sorted by energy, with a totals row and the caveats under it", async ({
    expect,
  }) => {
    const r = await energyAt(prom.url, [...window(WINDOW), "--by", "namespace"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    const table = lines.slice(lines.findIndex((l) => l.startsWith("namespace")));
    // CO2 per fuel: kWh x lb/kWh x 453.6, e.g. batch 11950 J = 0.0033194 kWh -> coal x 1011.528 = 3.358 g.
    expect(table.slice(0, 7)).toEqual([
      "namespace  energy (J)  energy (kWh)  avg power (W)  CO2e (g)  CO2 coal (g)  CO2 petroleum (g)  CO2 natural gas (g)",
      "---------  ----------  ------------  -------------  --------  ------------  -----------------  -------------------",
      "batch         11950.0      0.003319          39.83     1.577         3.358              3.207                1.370",
      "web            4500.0      0.001250          15.00     0.594         1.264              1.208                0.516",
      "---------  ----------  ------------  -------------  --------  ------------  -----------------  -------------------",
      "total         16450.0      0.004569          54.83     2.170         4.622              4.415                1.886",
      "",
    ]);
    expect(r.stdout).toContain(
      `gap: node-a has no samples from ${iso(T + 290)} to ${iso(T + 350)} (60 s: ~5 missed scrape(s) at 10 s intervals)`,
    );
    expect(r.stdout).toContain("reset: node-b's counters restarted");
    expect(r.stdout).toContain("CO2e at 475 g/kWh (default: IEA 2019 global average)");
  });

  it("groups by pod, never adding the dram zone, with a terminated pod at 0 J", async () => {
    const r = await energyAt(prom.url, [...window(WINDOW), "--by", "pod"], { json: true });
    expect(r.code).toBe(0);
    const { rows, summary } = rowsAndSummary(r.stdout);
    expect(Object.fromEntries(rows.map((x) => [`${x.namespace}/${x.pod}`, x.joules]))).toEqual(EXPECTED.pod);
    expect(rows.map((x) => x.pod)).toEqual(["job-1", "frontend", "job-2", "old"]);
    expect(summary.joules).toBe(16450);
  });
});

describe("powerstack energy, legacy Kepler line", () => {
  it("finds Prometheus, the flavour and the grid intensity in the inventory", async () => {
    const r = await withInventory("--json", "energy", ...window(WINDOW_LEGACY), "--by", "namespace");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { rows, summary } = rowsAndSummary(r.stdout);
    expect(Object.fromEntries(rows.map((x) => [x.namespace, x.joules]))).toEqual(EXPECTED.namespaceLegacy);
    const batch = rows.find((x) => x.namespace === "batch")!;
    expect(batch.co2G).toBeCloseTo((11950 / KWH) * 300, 12);
    expect(summary).toMatchObject({
      kepler: "legacy",
      prometheus: prom.url,
      gridIntensityGPerKwh: 300,
      joules: 17650,
    });
    expect(summary.gridSource).toContain(inventory);
    expect(summary.query).toBe(
      `sum by (container_namespace) (increase(kepler_container_joules_total[300000ms]))`,
    );
  });

  it("writes CSV for nodes with DRAM and platform from the legacy counters", async () => {
    const r = await energyAt(prom.url, [
      "--kepler",
      "legacy",
      ...window(WINDOW_LEGACY),
      "--csv",
      "--grid-intensity",
      "100",
    ]);
    expect(r.code).toBe(0);
    const [header, ...body] = r.stdout.trimEnd().split("\n");
    expect(header).toBe(
      "node,cpu_energy_j,energy_kwh,avg_power_w,co2_g,co2_coal_g,co2_petroleum_g,co2_natural_gas_g,dram_j,platform_j,platform_w",
    );
    const bySource = (j: number) => [2.23, 2.13, 0.91].map((lb) => (j / KWH) * (lb * 453.6)).join(",");
    expect(body).toEqual([
      `node-a,15000,${15000 / KWH},50,${(15000 / KWH) * 100},${bySource(15000)},1500,60000,200`,
      `node-b,5900,${5900 / KWH},${5900 / 300},${(5900 / KWH) * 100},${bySource(5900)},,,`,
    ]);
  });
});

describe("powerstack energy, when the answer is empty or Prometheus is not there", () => {
  it("an inventory whose flavour is not what runs: priced with the line that runs; the flag naming it wrong stops", async () => {
    const r = await withInventory("--json", "energy", ...window(WINDOW));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"kepler":"current"');
    const flagged = await withInventory("energy", "--kepler", "legacy", ...window(WINDOW));
    expect(flagged.code).toBe(1);
    expect(flagged.stderr).toContain("no `kepler_node_package_joules_total` series");
    expect(flagged.stderr).toContain("the current line's `kepler_node_cpu_joules_total` is there");
    expect(flagged.stderr).toContain("fix: pass --kepler current, or leave --kepler out");
  });

  it("says the window is before Kepler's data", async () => {
    const r = await energyAt(prom.url, [...window({ from: T - 1000, to: T - 700 }), "--by", "namespace"]);
    expect(r.code).toBe(1);
    // No line named: the explanation covers both lines' series.
    expect(r.stderr).toContain(
      'no series of either Kepler line (`kepler_pod_cpu_joules_total{zone="package"}` (current) or `kepler_container_joules_total` (legacy))',
    );
    expect(r.stderr).toContain("before Kepler's first sample");
  });

  it("says Kepler is not deployed or not scraped when there is no Kepler series at all", async ({
    expect,
  }) => {
    const later = { from: T + 90 * 86400, to: T + 90 * 86400 + 300 };
    const r = await energyAt(prom.url, window(later));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Kepler is not deployed, or Prometheus does not scrape it");
  });

  it("names the URL and the fix when Prometheus is unreachable (exit 3)", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await powerstack([...NO_INVENTORY, "energy", "--prometheus", url, "--since", "5m"]); // the real executable
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach Prometheus at ${url}: connection refused`);
    expect(r.stderr).toContain("fix: check that Prometheus runs and that the URL is right");
  });

  it("refuses to guess Prometheus without an inventory or --prometheus (exit 2)", async () => {
    const r = await powerstackInProcess([...NO_INVENTORY, "energy"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("fix: pass --prometheus http://<host>:<port>");
  });
});

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
