/**
 * Which Kepler line prices which node, on a real Prometheus holding both lines (detect-fixtures.ts: a
 * current-only, a legacy-only and a mixed window, every figure worked out by hand there). Without
 * `--kepler` the line is detected (the inventory's flavour only breaks a tie); a line named by the flag
 * wins and names the nodes it leaves out.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusClient } from "../../src/prometheus/client.js";
import { DETECT_LINES, KEPLER_LINES, selector } from "../../src/prometheus/kepler-metrics.js";
import { jsonLines, powerstackInProcess } from "./cli.js";
import { EXPECTED_MIXED, WINDOW_MIXED, backfillWithMixed } from "./detect-fixtures.js";
import { energyAt, NO_INVENTORY, window } from "./energy-cli.js";
import { EXPECTED, WINDOW, WINDOW_LEGACY } from "./fixtures.js";
import { freePort, startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";

let prom: RunningPrometheus;
let dir: string;
let port: number;

beforeAll(async () => {
  port = await freePort({ min: 30100, max: 32700 });
  prom = await startPrometheus({ openMetrics: backfillWithMixed(), port });
  dir = mkdtempSync(join(tmpdir(), "powerstack-detect-"));
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function energy(args: string[]) {
  const r = await energyAt(prom.url, args, { json: true });
  const objs = jsonLines(r.stdout);
  return {
    ...r,
    rows: objs.filter((o) => o.type === "row") as Array<Record<string, unknown>>,
    summary: objs.find((o) => o.type === "summary") as Record<string, unknown> | undefined,
  };
}

const joulesBy = (rows: Array<Record<string, unknown>>, key: (r: Record<string, unknown>) => string) =>
  Object.fromEntries(rows.map((r) => [key(r), r.joules]));

function inventoryFile(name: string, kepler: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      "cluster:",
      "  nfs_network: 127.0.0.0/8",
      `  node_ports: { prometheus: ${port} }`,
      "  monitoring: { scrape_interval: 10s }",
      ...(kepler ? [`  kepler: ${kepler}`] : []),
      "nodes:",
      "  - { name: node1, role: control, internal_ip: 127.0.0.1, external_ip: 127.0.0.1, storage_disk: /dev/disk/by-id/test }",
      "",
    ].join("\n"),
  );
  return file;
}

describe("Kepler line detected from Prometheus (no --kepler, no flavour in the inventory)", () => {
  it("prices a legacy-only cluster with the legacy line, where it used to stop with `pass --kepler legacy`", async () => {
    const r = await energy([...window(WINDOW_LEGACY), "--by", "namespace"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(joulesBy(r.rows, (x) => String(x.namespace))).toEqual(EXPECTED.namespaceLegacy);
    expect(r.summary).toMatchObject({ kepler: "legacy", keplerDetected: true, joules: 17650 });
    expect(r.summary!.query).toBe(
      "sum by (container_namespace) (increase(kepler_container_joules_total[300000ms]))",
    );
    expect(r.summary!.keplerNodes).toEqual({ "node-a": "legacy", "node-b": "legacy" });
  });

  it("prices a current-only cluster with the current line, and says so in the table's header", async () => {
    const r = await energyAt(prom.url, window(WINDOW));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Kepler current (detected) via ${prom.url}`);
    expect(r.stdout).toMatch(/\nnode-a +15000\.0 /);
  });

  it("both lines at once: each node priced with its own line, a node with both by current only", async () => {
    const r = await energy([...window(WINDOW_MIXED), "--by", "node"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const want = EXPECTED_MIXED.detected;
    expect(r.rows.map((x) => x.node)).toEqual(["node-m3", "node-m1", "node-m2"]); // by energy
    expect(joulesBy(r.rows, (x) => String(x.node))).toEqual(want.node);
    const figure = (f: string) =>
      Object.fromEntries(r.rows.filter((x) => x[f] !== null).map((x) => [x.node, x[f]]));
    expect(figure("dramJ")).toEqual(want.dram); // node-m3's legacy DRAM (900 J) is not its line's
    expect(figure("platformJ")).toEqual(want.platform);
    expect(r.summary).toMatchObject({ kepler: "mixed", keplerDetected: true, joules: 39000 });
    expect(r.summary!.keplerNodes).toEqual({
      "node-m1": "current",
      "node-m2": "legacy",
      "node-m3": "current",
    });
    const notes = (r.summary!.notes as string[]).join("\n");
    expect(notes).toContain(
      "both Kepler lines are in the window (a migration in progress?): current on node-m1, node-m3; legacy on node-m2",
    );
    expect(notes).toContain(
      "node-m3 has series of both Kepler lines in the window: priced with current only",
    );
    // Both lines' queries, the legacy one without node-m3, so a reader can rerun them.
    expect(r.summary!.query).toBe(
      'sum by (node_name) (increase(kepler_node_cpu_joules_total{zone="package"}[300000ms])) or ' +
        'sum by (instance) (increase(kepler_node_package_joules_total{instance!~"node-m3"}[300000ms]))',
    );
    // Coverage from each node's own line: 31 samples every 10 s, no gaps.
    expect(
      (r.summary!.coverage as Array<{ node: string; samples: number }>).map((c) => [c.node, c.samples]),
    ).toEqual([
      ["node-m1", 31],
      ["node-m2", 31],
      ["node-m3", 31],
    ]);
  });

  it("both lines at once, by namespace and by pod: a namespace on nodes of both lines adds up", async () => {
    const ns = await energy([...window(WINDOW_MIXED), "--by", "namespace"]);
    expect(ns.code).toBe(0);
    expect(joulesBy(ns.rows, (x) => String(x.namespace))).toEqual(EXPECTED_MIXED.detected.namespace);
    const pod = await energy([...window(WINDOW_MIXED), "--by", "pod"]);
    expect(pod.code).toBe(0);
    expect(joulesBy(pod.rows, (x) => `${x.namespace}/${x.pod}`)).toEqual(EXPECTED_MIXED.detected.pod);
  });

  it("prints which lines priced the table", async () => {
    const r = await energyAt(prom.url, window(WINDOW_MIXED));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Kepler current and legacy (detected per node, see the notes)");
    expect(r.stdout).toContain("note: both Kepler lines are in the window");
  });

  it("the detect selectors match exactly the priced series of both lines", async () => {
    const client = new PrometheusClient(prom.url);
    const at = WINDOW_MIXED.to * 1000;
    const count = async (sel: string) =>
      (await client.instant(`count(last_over_time(${sel}[300s]))`, at))[0]?.value ?? 0;
    for (const figure of ["nodeCpu", "workload"] as const) {
      const both =
        (await count(selector(KEPLER_LINES.current[figure]))) +
        (await count(selector(KEPLER_LINES.legacy[figure])));
      expect(both).toBeGreaterThan(0);
      expect(await count(selector(DETECT_LINES[figure]))).toBe(both);
    }
  });
});

describe("a named Kepler line wins over detection", () => {
  it("--kepler legacy on the mixed window prices the legacy nodes only and names the one left out", async () => {
    const r = await energy(["--kepler", "legacy", ...window(WINDOW_MIXED)]);
    expect(r.code).toBe(0);
    expect(joulesBy(r.rows, (x) => String(x.node))).toEqual(EXPECTED_MIXED.legacy.node);
    expect(r.summary).toMatchObject({ kepler: "legacy", keplerDetected: false });
    expect((r.summary!.notes as string[]).join("\n")).toContain(
      "node-m1 has only current-line Kepler series in the window and is not priced: --kepler legacy names the legacy line (leave it out to price each node with the line it has)",
    );
  });

  it("--kepler current on the mixed window", async () => {
    const r = await energy(["--kepler", "current", ...window(WINDOW_MIXED)]);
    expect(r.code).toBe(0);
    expect(joulesBy(r.rows, (x) => String(x.node))).toEqual(EXPECTED_MIXED.current.node);
    expect((r.summary!.notes as string[]).join("\n")).toContain("node-m2 has only legacy-line Kepler series");
  });

  it("--kepler current on a legacy-only window stops and says what runs (the flag is not overruled)", async () => {
    const r = await energy(["--kepler", "current", ...window(WINDOW_LEGACY)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the legacy line's `kepler_node_package_joules_total` is there: --kepler current does not match",
    );
    expect(r.stderr).toContain("fix: pass --kepler legacy, or leave --kepler out to have the line detected");
  });

  it("the inventory's cluster.kepler.flavour does not overrule what runs: the line is detected (and priced)", async () => {
    for (const kepler of ["{ flavour: current }", "", "{ chart_version: 0.7.11 }"]) {
      const file = inventoryFile("inventory.yaml", kepler);
      const r = await powerstackInProcess(["-i", file, "--json", "energy", ...window(WINDOW_LEGACY)]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(jsonLines(r.stdout).find((o) => o.type === "summary")).toMatchObject({
        kepler: "legacy",
        keplerDetected: true,
        prometheus: `http://127.0.0.1:${port}`,
      });
    }
  });

  it("`power idle` reads one named line: --kepler auto is refused there (exit 2)", async () => {
    const r = await powerstackInProcess([...NO_INVENTORY, "power", "idle", "--kepler", "auto"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--kepler auto is not one of current, legacy");
  });

  it("refuses an unknown --kepler value before asking Prometheus (exit 2)", async () => {
    const r = await energyAt(prom.url, ["--kepler", "0.7"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("current, legacy, auto");
  });
});
