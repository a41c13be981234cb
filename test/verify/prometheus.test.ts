/**
 * The Kepler checks against a REAL Prometheus (test/energy/prometheus-harness.ts) scraping stand-in
 * Kepler exporters every second: a healthy cluster, a node with all-zero counters, a node reported by two
 * exporters, a Kepler target down, the legacy line, a flavour that does not match what runs, and no
 * Prometheus at all. One Prometheus per case, all started at once (each needs ~5 s before its first scrape).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEPLER_LINES } from "../../src/prometheus/kepler-metrics.js";
import type { CheckResult } from "../../src/verify/check.js";
import { prometheusChecks } from "../../src/verify/prometheus-checks.js";
import { startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { closedPort } from "../redfish/helpers.js";
import {
  currentNode,
  legacyNode,
  prometheusConfig,
  scrapeJob,
  startFakeKepler,
  type FakeKepler,
} from "./fake-kepler.js";

const NODES = ["node-a", "node-b"];
const exporters: FakeKepler[] = [];
const proms: Record<string, RunningPrometheus> = {};
let downPort = 0;
let otherPort = 0;

async function kepler(lines: string[]) {
  const k = await startFakeKepler(lines);
  exporters.push(k);
  return k;
}

/** Until every target was scraped once and `expect` series of `metric` are there. */
async function settled(p: RunningPrometheus, metric: string, expect: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const targets = (await (await fetch(`${p.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ health: string }> };
    };
    const q = (await (
      await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent(`count(${metric})`)}`)
    ).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    const all = targets.data.activeTargets;
    if (
      all.length > 0 &&
      all.every((t) => t.health !== "unknown") &&
      Number(q.data.result[0]?.value[1] ?? 0) === expect
    )
      return;
    if (Date.now() > deadline) throw new Error(`prometheus ${p.url} did not settle: ${JSON.stringify(all)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  [downPort, otherPort] = await Promise.all([closedPort(), closedPort()]);
  const [a, b, bZero, aAgain, la, lb] = await Promise.all([
    kepler(currentNode("node-a", 1_234_567.5)),
    kepler(currentNode("node-b", 850_000)),
    kepler(currentNode("node-b", 0)),
    kepler(currentNode("node-a", 1_300_000)),
    kepler(legacyNode(40_000, 160_000)),
    kepler(legacyNode(25_000, 90_000)),
  ]);
  const pair = [{ target: a!.target }, { target: b!.target }];
  const configs: Record<string, string> = {
    // A non-Kepler target that is down must not count against Kepler.
    healthy: prometheusConfig([
      scrapeJob("kepler", pair),
      scrapeJob("node-exporter", [{ target: `127.0.0.1:${otherPort}` }]),
    ]),
    zero: prometheusConfig([scrapeJob("kepler", [{ target: a!.target }, { target: bZero!.target }])]),
    // A second Kepler release, with its own ServiceMonitor (job), on node-a too.
    duplicate: prometheusConfig([
      scrapeJob("kepler", pair),
      scrapeJob("kepler-second", [{ target: aAgain!.target }]),
    ]),
    down: prometheusConfig([scrapeJob("kepler", [...pair, { target: `127.0.0.1:${downPort}` }])]),
    // The legacy chart's ServiceMonitor relabels `instance` to the node's name.
    legacy: prometheusConfig([
      scrapeJob("kepler-exporter", [
        { target: la!.target, labels: { instance: "node-a" } },
        { target: lb!.target, labels: { instance: "node-b" } },
      ]),
    ]),
  };
  const started = await Promise.all(
    Object.entries(configs).map(async ([name, config]) => [name, await startPrometheus({ config })] as const),
  );
  for (const [name, p] of started) proms[name] = p;
  await Promise.all([
    ...["healthy", "zero", "down"].map((c) =>
      settled(proms[c]!, 'kepler_node_cpu_joules_total{zone="package"}', 2),
    ),
    settled(proms.duplicate!, 'kepler_node_cpu_joules_total{zone="package"}', 3),
    settled(proms.legacy!, "kepler_node_package_joules_total", 4),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(proms).map((p) => p.stop()));
  await Promise.allSettled(exporters.map((e) => e.close()));
});

const check = (url: string, flavour: "current" | "legacy" = "current") =>
  prometheusChecks({
    url,
    line: KEPLER_LINES[flavour],
    keplerNamespace: "kepler",
    nodes: NODES,
    deadlineMs: 10_000,
  });

const byName = (rs: CheckResult[]) => Object.fromEntries(rs.map((r) => [r.name, r]));

describe("Kepler in a real Prometheus", () => {
  it("healthy: targets up, non-zero energy, one source per node", async () => {
    const r = byName(await check(proms.healthy!.url));
    expect(r["kepler.targets-up"]).toMatchObject({
      scope: "prometheus",
      status: "pass",
      detail: `2 up: ${[exporters[0]!.target, exporters[1]!.target].sort().join(", ")}`,
    });
    expect(r["kepler.energy-nonzero"]).toMatchObject({
      status: "pass",
      detail: 'node-a 1.2 MJ, node-b 850000 J (kepler_node_cpu_joules_total{zone="package"})',
    });
    expect(r["kepler.one-source-per-node"]).toMatchObject({
      status: "pass",
      detail: "one source for each of 2 nodes",
    });
  });

  it("zero metrics: a running, scraped Kepler exporting zeros fails, naming the node", async () => {
    const r = byName(await check(proms.zero!.url));
    expect(r["kepler.targets-up"]!.status).toBe("pass");
    expect(r["kepler.energy-nonzero"]).toMatchObject({
      status: "fail",
      detail:
        'Kepler reports zero energy for node-b (`kepler_node_cpu_joules_total{zone="package"}` = 0): it runs but reads no energy',
    });
    expect(r["kepler.energy-nonzero"]!.fix).toContain("#1580");
    expect(r["kepler.one-source-per-node"]!.status).toBe("pass");
  });

  it("duplicate source: node-a reported by two exporters fails, naming both", async () => {
    const r = byName(await check(proms.duplicate!.url));
    const s = r["kepler.one-source-per-node"]!;
    expect(s.status).toBe("fail");
    expect(s.detail).toBe(
      `node-a: 2 sources (job=kepler,instance=${exporters[0]!.target} | job=kepler-second,instance=${exporters[3]!.target})`,
    );
    expect(s.fix).toContain("duplicates double every energy figure");
    expect(r["kepler.targets-up"]!.detail).toMatch(/^3 up: /);
  });

  it("target down: fails with Prometheus' own scrape error", async () => {
    const r = byName(await check(proms.down!.url));
    const t = r["kepler.targets-up"]!;
    expect(t.status).toBe("fail");
    expect(t.detail).toMatch(
      new RegExp(`^1 of 3 Kepler targets not up: 127\\.0\\.0\\.1:${downPort} down: .*connection refused`),
    );
    expect(t.fix).toContain("kubectl -n kepler get pods -o wide");
    expect(r["kepler.energy-nonzero"]!.status).toBe("pass");
  });

  it("legacy line: node in `instance`, dynamic + idle series of one source", async () => {
    const r = byName(await check(proms.legacy!.url, "legacy"));
    expect(r["kepler.targets-up"]!.detail).toBe("2 up: node-a, node-b");
    expect(r["kepler.energy-nonzero"]!.detail).toBe(
      "node-a 200000 J, node-b 115000 J (kepler_node_package_joules_total)",
    );
    expect(r["kepler.one-source-per-node"]!.status).toBe("pass");
  });

  it("a flavour that does not match the Kepler that runs is named as the cause", async () => {
    const r = byName(await check(proms.legacy!.url, "current"));
    expect(r["kepler.energy-nonzero"]).toMatchObject({
      status: "fail",
      detail:
        'no `kepler_node_cpu_joules_total{zone="package"}` series in Prometheus now; the legacy line\'s `kepler_node_package_joules_total` is there: cluster.kepler.flavour (current) does not match the Kepler that runs',
      fix: "set cluster.kepler.flavour in the inventory to the Kepler line that runs",
    });
    expect(r["kepler.one-source-per-node"]!.status).toBe("skip");
  });

  it("no Prometheus: every Prometheus check fails as unreachable (exit code 3)", async () => {
    const port = await closedPort();
    const r = await check(`http://127.0.0.1:${port}`);
    expect(r.map((x) => [x.name, x.status, x.unreachable])).toEqual([
      ["kepler.targets-up", "fail", true],
      ["kepler.energy-nonzero", "fail", true],
      ["kepler.one-source-per-node", "fail", true],
    ]);
    expect(r[0]!.detail).toBe(
      `cannot reach Prometheus at http://127.0.0.1:${port}: connection refused (nothing listens on that port)`,
    );
    expect(r[0]!.fix).toContain("--prometheus");
    const bad = await check("prometheus.local:9090");
    expect(bad[0]).toMatchObject({
      status: "fail",
      detail: 'Prometheus URL "prometheus.local:9090" is not http(s)',
    });
  });
});
