/**
 * `powerstack measure` without `--kepler`: the line is detected from what Prometheus scrapes, as for
 * `energy` (the same shared code: settings.ts, kepler-detect.ts). Two real Prometheus servers scrape a
 * stand-in Kepler every 250 ms: one sees the legacy line only, the other both lines (node-c on the
 * current line, node-l still on the legacy one). Counters grow at constant rates, so every figure is
 * rate x window length (within increase()'s extrapolation, see measure.test.ts).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, powerstackInProcess } from "./cli.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";

const NO_INVENTORY = ["-i", "/nonexistent/powerstack-test/inventory.yaml"];
const RATE = { legacyNode: 30, legacyPod: 10, currentNode: 40, currentPod: 20 };

let server: Server;
let legacyOnly: RunningPrometheus;
let both: RunningPrometheus;

function metrics(path: string, t0: number): string | undefined {
  const now = Date.now();
  const s = (now - t0) / 1000;
  const legacy = [
    "# TYPE kepler_node_package_joules_total counter",
    `kepler_node_package_joules_total{instance="node-l",mode="dynamic",package="0"} ${RATE.legacyNode * s} ${now}`,
    "# TYPE kepler_container_joules_total counter",
    `kepler_container_joules_total{instance="node-l",container_namespace="jobs",pod_name="job",container_name="main",container_id="c1",mode="dynamic"} ${RATE.legacyPod * s} ${now}`,
  ];
  const current = [
    "# TYPE kepler_node_cpu_joules_total counter",
    `kepler_node_cpu_joules_total{node_name="node-c",zone="package",path="aggregated-package"} ${RATE.currentNode * s} ${now}`,
    "# TYPE kepler_pod_cpu_joules_total counter",
    `kepler_pod_cpu_joules_total{node_name="node-c",pod_namespace="jobs",pod_name="job2",pod_id="p2",state="running",zone="package"} ${RATE.currentPod * s} ${now}`,
  ];
  if (path === "/legacy") return [...legacy, ""].join("\n");
  if (path === "/both") return [...legacy, ...current, ""].join("\n");
  return undefined;
}

const scrapeConfig = (target: string, path: string) =>
  [
    "global: { scrape_interval: 250ms, scrape_timeout: 200ms }",
    "scrape_configs:",
    "  - job_name: kepler",
    // Keep the exporter's own `instance` (the node's name), as Kepler's ServiceMonitor relabels it.
    "    honor_labels: true",
    `    metrics_path: ${path}`,
    `    static_configs: [{ targets: ["${target}"] }]`,
    "",
  ].join("\n");

beforeAll(async () => {
  const t0 = Date.now();
  // Prometheus' discovery takes ~5 s to hand out targets: wait for each server's first scrape.
  const firstScrape: Record<string, () => void> = {};
  const scraped = ["/legacy", "/both"].map((p) => new Promise<void>((r) => (firstScrape[p] = r)));
  server = createServer((req, res) => {
    firstScrape[req.url ?? ""]?.();
    const body = metrics(req.url ?? "", t0);
    if (body === undefined) res.statusCode = 404;
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(body ?? "");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  [legacyOnly, both] = await Promise.all([
    startPrometheus({ config: scrapeConfig(target, "/legacy") }),
    startPrometheus({ config: scrapeConfig(target, "/both") }),
  ]);
  await Promise.all(scraped);
  // A few seconds of samples for the idle baseline.
  await new Promise((r) => setTimeout(r, 3_000));
}, 60_000);

afterAll(async () => {
  await Promise.all([legacyOnly?.stop(), both?.stop()]);
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

async function measure(prom: RunningPrometheus, by: string) {
  const r = await powerstackInProcess([
    ...NO_INVENTORY,
    "--json",
    "measure",
    "--prometheus",
    prom.url,
    "--scrape-interval",
    "250ms",
    "--by",
    by,
    "--",
    "sh",
    "-c",
    "sleep 0.6",
  ]);
  const objs = jsonLines(r.stdout);
  const summary = objs.find((o) => o.type === "summary") as Record<string, unknown> & {
    run: { seconds: number };
  };
  const rows = objs.filter((o) => o.type === "row") as Array<Record<string, number | string>>;
  return { ...r, summary, rows };
}

/** Within increase()'s extrapolation on a loaded machine (see measure.test.ts): 10%. */
function near(got: number, want: number) {
  expect(got).toBeGreaterThan(want * 0.9);
  expect(got).toBeLessThan(want * 1.1);
}

describe("powerstack measure detects the Kepler line", () => {
  it("prices a legacy-only cluster without --kepler (it used to stop with `pass --kepler legacy`)", async () => {
    const r = await measure(legacyOnly, "node");
    expect(r.stderr).not.toContain("pass --kepler");
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ kepler: "legacy", keplerDetected: true });
    expect(r.rows.map((x) => x.node)).toEqual(["node-l"]);
    near(r.rows[0]!.runJ as number, RATE.legacyNode * r.summary.run.seconds);
    expect((r.summary.coverage as Array<{ node: string }>).map((c) => c.node)).toEqual(["node-l"]);
  }, 20_000);

  it("prices each node with its own line while both lines run", async () => {
    const r = await measure(both, "node");
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ kepler: "mixed", keplerDetected: true });
    const run = Object.fromEntries(r.rows.map((x) => [x.node, x.runJ as number]));
    expect(Object.keys(run).sort()).toEqual(["node-c", "node-l"]);
    near(run["node-c"]!, RATE.currentNode * r.summary.run.seconds);
    near(run["node-l"]!, RATE.legacyNode * r.summary.run.seconds);
    expect((r.summary.notes as string[]).join("\n")).toContain(
      "both Kepler lines are in the window (a migration in progress?): current on node-c; legacy on node-l",
    );
    expect((r.summary.coverage as Array<{ node: string }>).map((c) => c.node)).toEqual(["node-c", "node-l"]);

    // By namespace: `jobs` has a pod on each node, one per line; their energy adds up.
    const ns = await measure(both, "namespace");
    expect(ns.code).toBe(0);
    expect(ns.rows.map((x) => x.namespace)).toEqual(["jobs"]);
    near(ns.rows[0]!.runJ as number, (RATE.currentPod + RATE.legacyPod) * ns.summary.run.seconds);
  }, 30_000);
});
