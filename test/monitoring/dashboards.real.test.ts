/**
 * REAL-ARTIFACT tests of the Grafana dashboards: every panel query of the dashboards `up` applies
 * (roles/monitoring/dashboards.ts `dashboardConfigMaps`, both Kepler lines) runs, with Grafana's variables
 * substituted as Grafana substitutes them, against a REAL Prometheus holding the energy fixtures
 * (test/energy/fixtures.ts: known series, every figure worked out by hand). Each must return data, finite;
 * the node-energy panels must equal the RAPL `package` zone alone, and the test shows that a query summing
 * zones would be caught.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { dashboardConfigMaps } from "../../roles/monitoring/dashboards.js";
import { backfill, EXPECTED, WINDOW, WINDOW_LEGACY } from "../energy/fixtures.js";
import { startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { requireCharts } from "../support/real-helm.js";
import { inventory } from "./fixtures.js";
import { renderMonitoring } from "./real-artifacts.js";

const J_PER_KWH = 3.6e6;
const INTENSITY = 380; // test/monitoring/fixtures.ts: carbon.grid_intensity_g_per_kwh

interface Target {
  refId: string;
  expr: string;
  instant?: boolean;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

function dashboards(flavour: "current" | "legacy"): Dashboard[] {
  return dashboardConfigMaps(inventory({ flavour })).map(
    (cm) => JSON.parse(Object.values(cm.data as Record<string, string>)[0]!) as Dashboard,
  );
}

/**
 * Grafana's built-in variables for a query over [from, to] (seconds). `scrape` is the datasource's
 * `timeInterval`: kube-prometheus-stack provisions it from prometheus.prometheusSpec.scrapeInterval, the
 * inventory's scrape_interval (15s in the test inventory). Grafana: $__interval = max(timeInterval,
 * range / maxDataPoints) (rounded; at this range the minimum wins), $__rate_interval = max($__interval +
 * scrape, 4 × scrape), $__range = the time range, in seconds.
 */
function grafanaVars(o: { from: number; to: number; scrape: number; maxDataPoints?: number }) {
  const range = o.to - o.from;
  const interval = Math.max(o.scrape, Math.ceil(range / (o.maxDataPoints ?? 1000)));
  const rateInterval = Math.max(interval + o.scrape, 4 * o.scrape);
  return { range, interval, rateInterval };
}

function substitute(expr: string, v: ReturnType<typeof grafanaVars>): string {
  const out = expr
    .replace(/\$(?:\{__rate_interval\}|__rate_interval)/g, `${v.rateInterval}s`)
    .replace(/\$(?:\{__range_s\}|__range_s)/g, `${v.range}`)
    .replace(/\$(?:\{__range_ms\}|__range_ms)/g, `${v.range * 1000}`)
    .replace(/\$(?:\{__range\}|__range)/g, `${v.range}s`)
    .replace(/\$(?:\{__interval_ms\}|__interval_ms)/g, `${v.interval * 1000}`)
    .replace(/\$(?:\{__interval\}|__interval)/g, `${v.interval}s`);
  if (/\$\{?__\w+/.test(out)) throw new Error(`a Grafana variable left unsubstituted: ${out}`);
  return out;
}

interface Series {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

async function prom(url: string, path: string, params: Record<string, string | number>): Promise<Series[]> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`${url}${path}?${q}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: {
      resultType: string;
      result: Array<{
        metric: Record<string, string>;
        value?: [number, string];
        values?: Array<[number, string]>;
      }>;
    };
  };
  if (body.status !== "success") throw new Error(`${params.query}: ${body.error}`);
  return body.data!.result.map((r) => ({
    metric: r.metric,
    values: (r.values ?? [r.value!]).map(([t, v]) => [t, Number(v)] as [number, number]),
  }));
}

/** As Grafana runs a target: an instant query at the range's end, or a range query stepped by $__interval. */
async function runTarget(url: string, t: Target, w: { from: number; to: number }, scrape: number) {
  const v = grafanaVars({ ...w, scrape });
  const query = substitute(t.expr, v);
  if (t.instant) return { query, series: await prom(url, "/api/v1/query", { query, time: w.to }) };
  // Grafana aligns the range to the step.
  const start = Math.floor(w.from / v.interval) * v.interval;
  const end = Math.ceil(w.to / v.interval) * v.interval;
  return { query, series: await prom(url, "/api/v1/query_range", { query, start, end, step: v.interval }) };
}

/** A query's value at one instant (inside the window, before node-b's reset and node-a's gap). */
async function at(url: string, expr: string, time: number, scrape: number, w: { from: number; to: number }) {
  const series = await prom(url, "/api/v1/query", {
    query: substitute(expr, grafanaVars({ ...w, scrape })),
    time,
  });
  return series;
}

/** by label value -> number; the whole result for a query without `by`. */
function byLabel(series: Series[], label: string): Record<string, number> {
  return Object.fromEntries(series.map((s) => [s.metric[label] ?? "", s.values.at(-1)![1]]));
}

/** Mismatches between a result and the expected figures (relative 1e-9); [] when they agree. */
function mismatches(got: Record<string, number>, want: Record<string, number>): string[] {
  const keys = [...new Set([...Object.keys(got), ...Object.keys(want)])].sort();
  return keys.flatMap((k) => {
    const g = got[k];
    const w = want[k];
    if (g === undefined || w === undefined || Math.abs(g - w) > 1e-9 * Math.max(1, Math.abs(w)))
      return [`${k || "(all)"}: got ${g}, want ${w}`];
    return [];
  });
}

const SCRAPE = 15; // the test inventory's scrape_interval, which Grafana's datasource gets as timeInterval

let prometheus: RunningPrometheus;
beforeAll(async () => {
  prometheus = await startPrometheus({ openMetrics: backfill() });
}, 60_000);
afterAll(async () => {
  await prometheus?.stop();
});

const LINES = [
  {
    flavour: "current" as const,
    window: WINDOW,
    node: "node_name",
    ns: "pod_namespace",
    namespaceJ: EXPECTED.namespaceCurrent as Record<string, number>,
    namespaceW: { batch: 30 + 10, web: 15 + 0 } as Record<string, number>,
    /** The node CPU selector, and a query rewritten to sum every RAPL zone (the mistake to catch). */
    cpu: 'kepler_node_cpu_joules_total{zone="package"}',
    sumZones: (e: string) =>
      e.split('kepler_node_cpu_joules_total{zone="package"}').join("kepler_node_cpu_joules_total"),
  },
  {
    flavour: "legacy" as const,
    window: WINDOW_LEGACY,
    node: "instance",
    ns: "container_namespace",
    namespaceJ: EXPECTED.namespaceLegacy as Record<string, number>,
    namespaceW: { batch: 25 + 5 + 10, web: 10 + 5, system: 4 } as Record<string, number>,
    cpu: "kepler_node_package_joules_total",
    // One counter per zone on this line: the DRAM counter joins the package one (a zone label keeps
    // the two apart until the panel's sum adds them).
    sumZones: (e: string) =>
      e.replace(
        /(rate|increase)\(kepler_node_package_joules_total\[([^\]]+)\]\)/g,
        '($1(kepler_node_package_joules_total[$2]) or label_replace($1(kepler_node_dram_joules_total[$2]), "zone", "dram", "", ""))',
      ),
  },
];

describe.each(LINES)(
  "dashboards, real artifacts (rendered ConfigMaps, queries run on a real Prometheus): $flavour Kepler",
  (line) => {
    const boards = dashboards(line.flavour);
    const targets = boards.flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => ({ d, p, t }))));
    const panel = (uid: string, id: number) =>
      boards.find((d) => d.uid === uid)!.panels.find((p) => p.id === id)!.targets[0]!;
    const mid = line.window.from + 100; // inside the window, before node-b's reset and node-a's gap

    test("every panel query returns data, every value finite", async () => {
      expect(targets.length).toBe(15); // 9 + the CO2-by-fuel panels' 3 targets each
      const empty: string[] = [];
      let points = 0;
      for (const { d, p, t } of targets) {
        const { query, series } = await runTarget(prometheus.url, t, line.window, SCRAPE);
        if (!series.length) empty.push(`${d.uid} #${p.id} "${p.title}": ${query}`);
        for (const s of series)
          for (const [, v] of s.values) {
            expect(Number.isFinite(v), `${d.uid} #${p.id}: ${query} -> ${v}`).toBe(true);
            points++;
          }
      }
      expect(empty).toEqual([]);
      process.stdout.write(`  ${line.flavour}: ${targets.length} panel queries, ${points} finite points\n`);
    });

    test("node-energy panels equal the RAPL package zone alone (and a zone sum would be caught)", async () => {
      const cpuW = panel("powerstack-power-by-node", 1).expr;
      const kwh = panel("powerstack-power-by-node", 4).expr;
      const co2Rate = panel("powerstack-co2", 2).expr;
      const co2Total = panel("powerstack-co2", 1).expr;
      for (const e of [cpuW, kwh, co2Rate, co2Total]) expect(e).toContain(line.cpu);
      const w = line.window;
      const node = EXPECTED.node;
      // The package zone alone, from the fixtures' hand-worked figures: node-a 50 W, node-b 20 W.
      const want = {
        cpuW: { "node-a": 50, "node-b": 20 },
        kwh: { "node-a": node["node-a"].cpu / J_PER_KWH, "node-b": node["node-b"].cpu / J_PER_KWH },
        co2Rate: { "node-a": (50 * INTENSITY) / 1000, "node-b": (20 * INTENSITY) / 1000 },
        co2Total: { "": ((node["node-a"].cpu + node["node-b"].cpu) / J_PER_KWH) * INTENSITY },
      };
      const check = async (exprs: { cpuW: string; kwh: string; co2Rate: string; co2Total: string }) => [
        ...mismatches(byLabel(await at(prometheus.url, exprs.cpuW, mid, SCRAPE, w), line.node), want.cpuW),
        ...mismatches(byLabel(await at(prometheus.url, exprs.kwh, w.to, SCRAPE, w), line.node), want.kwh),
        ...mismatches(
          byLabel(await at(prometheus.url, exprs.co2Rate, mid, SCRAPE, w), line.node),
          want.co2Rate,
        ),
        ...mismatches(
          byLabel(await at(prometheus.url, exprs.co2Total, w.to, SCRAPE, w), "__none__"),
          want.co2Total,
        ),
      ];
      expect(await check({ cpuW, kwh, co2Rate, co2Total })).toEqual([]);
      // The same panels summing every RAPL zone: the check must see it (node-a's core and/or dram join in).
      const summed = line.sumZones;
      const caught = await check({
        cpuW: summed(cpuW),
        kwh: summed(kwh),
        co2Rate: summed(co2Rate),
        co2Total: summed(co2Total),
      });
      expect(caught.length).toBe(4);
      expect(caught.join("\n")).toMatch(/node-a: got (85|55), want 50/);
    });

    test("DRAM, platform and namespace panels show the fixtures' figures", async () => {
      const w = line.window;
      const get = async (expr: string, time: number, label: string) =>
        byLabel(await at(prometheus.url, expr, time, SCRAPE, w), label);
      // DRAM zone alone: node-a 5 W.
      expect(await get(panel("powerstack-power-by-node", 3).expr, mid, line.node)).toEqual({ "node-a": 5 });
      // Platform: the whole server's 200 W (current: the largest PowerControl, never PC1 + PC2 = 280 W).
      expect(await get(panel("powerstack-power-by-node", 2).expr, mid, line.node)).toEqual({ "node-a": 200 });
      const nsW = await get(panel("powerstack-power-by-namespace", 1).expr, mid, line.ns);
      expect(mismatches(nsW, line.namespaceW)).toEqual([]);
      const nsKwh = await get(panel("powerstack-power-by-namespace", 2).expr, w.to, line.ns);
      expect(
        mismatches(
          nsKwh,
          Object.fromEntries(Object.entries(line.namespaceJ).map(([k, j]) => [k, j / J_PER_KWH])),
        ),
      ).toEqual([]);
      const nsCo2 = await get(panel("powerstack-co2", 3).expr, w.to, line.ns);
      expect(
        mismatches(
          nsCo2,
          Object.fromEntries(
            Object.entries(line.namespaceJ).map(([k, j]) => [k, (j / J_PER_KWH) * INTENSITY]),
          ),
        ),
      ).toEqual([]);
    });
  },
);

/**
 * The CO2-by-fuel panels: energy times EIA's lb CO2/kWh x 453.6 (coal 1011.528, petroleum 966.168,
 * natural gas 412.776 g/kWh, worked out by hand; src/prometheus/co2-sources.ts), the same figures
 * `powerstack energy` prints. Cluster: the fixtures' node CPU total (15000 + 5900 J) on both lines.
 */
const FUEL_G_PER_KWH: Record<string, number> = { coal: 1011.528, petroleum: 966.168, "natural gas": 412.776 };

describe.each(LINES)("CO2 by generating fuel panels, real artifacts: $flavour Kepler", (line) => {
  const co2 = dashboards(line.flavour).find((d) => d.uid === "powerstack-co2")!;
  const panel = (id: number) => co2.panels.find((p) => p.id === id)!;

  test("the cluster's CO2 per fuel equals its CPU package energy times the fuel's factor", async () => {
    const w = line.window;
    const cpuJ = EXPECTED.node["node-a"].cpu + EXPECTED.node["node-b"].cpu;
    const got: Record<string, number> = {};
    for (const t of panel(4).targets) {
      expect(t.expr).toContain(line.cpu);
      got[t.legendFormat!] = byLabel(await at(prometheus.url, t.expr, w.to, SCRAPE, w), "__none__")[""]!;
    }
    const want = Object.fromEntries(
      Object.entries(FUEL_G_PER_KWH).map(([fuel, g]) => [fuel, (cpuJ / J_PER_KWH) * g]),
    );
    expect(mismatches(got, want)).toEqual([]);
    // 20900 J = 0.0058056 kWh: coal 5.872482 g, by hand.
    expect(got.coal).toBeCloseTo(5.872482, 9);
  });

  test("each namespace's CO2 per fuel equals its energy times the fuel's factor", async () => {
    const w = line.window;
    for (const t of panel(5).targets) {
      const fuel = t.legendFormat!.replace(`{{${line.ns}}} `, "");
      const got = byLabel(await at(prometheus.url, t.expr, w.to, SCRAPE, w), line.ns);
      const want = Object.fromEntries(
        Object.entries(line.namespaceJ).map(([ns, j]) => [ns, (j / J_PER_KWH) * FUEL_G_PER_KWH[fuel]!]),
      );
      expect(mismatches(got, want), `${fuel}: ${t.expr}`).toEqual([]);
    }
  });
});

describe("Grafana variables as Grafana substitutes them", () => {
  test("$__rate_interval = max(4 x scrape, $__interval + scrape); $__range = the time range", () => {
    expect(grafanaVars({ from: 0, to: 300, scrape: 15 })).toEqual({
      range: 300,
      interval: 15,
      rateInterval: 60,
    });
    // 24 h over 1000 points: $__interval 87 s, so $__rate_interval = 87 + 15.
    expect(grafanaVars({ from: 0, to: 86400, scrape: 15 })).toEqual({
      range: 86400,
      interval: 87,
      rateInterval: 102,
    });
    expect(
      substitute(
        "rate(x[$__rate_interval]) / ${__range_s} + increase(y[$__range])",
        grafanaVars({ from: 0, to: 300, scrape: 15 }),
      ),
    ).toBe("rate(x[60s]) / 300 + increase(y[300s])");
    expect(() => substitute("x[$__unknown]", grafanaVars({ from: 0, to: 300, scrape: 15 }))).toThrow(
      /unsubstituted/,
    );
  });
});

const haveCharts = requireCharts();

describe.skipIf(!haveCharts)(
  "dashboards and the chart's Grafana datasource, real artifacts (helm template)",
  () => {
    test("every panel names the datasource uid the chart provisions", async () => {
      const { docs } = await renderMonitoring(inventory());
      const ds = docs.find((d) => d.kind === "ConfigMap" && /-grafana-datasource$/.test(d.metadata.name));
      expect(ds, "the chart's datasource ConfigMap").toBeDefined();
      const yaml = Object.values(ds!.data ?? {}).join("\n");
      const uids = [...yaml.matchAll(/^\s*uid: (\S+)$/gm)].map((m) => m[1]);
      for (const flavour of ["current", "legacy"] as const)
        for (const d of dashboards(flavour))
          for (const p of d.panels) {
            expect(p.datasource.type).toBe("prometheus");
            expect(uids).toContain(p.datasource.uid);
          }
    });
  },
);
