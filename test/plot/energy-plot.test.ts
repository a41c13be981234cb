/**
 * Energy plots drawn from the energy fixtures in a real Prometheus (test/energy/fixtures.ts holds the
 * expected watts: node-a 50 W CPU package and 200 W platform, node-b 20 W, batch 40 W, web 15 W), checked
 * as files: valid XML, the expected series, units, zone and phase labels, a real PNG of the right size,
 * the same bytes for the same input, and a group's colour independent of the other groups.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { energyPlot, type PlotData } from "../../src/plot/chart.js";
import { coloursFor, preferredColour } from "../../src/plot/palette.js";
import { plotFontFiles, toPng } from "../../src/plot/png.js";
import { chooseStepMs, MAX_POINTS } from "../../src/plot/power-series.js";
import { backfill, T, TL, WINDOW, WINDOW_LEGACY } from "../energy/fixtures.js";
import { startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { fixturePlotData, legendColour, pngSize, xmlErrors } from "./plot-fixtures.js";

let prom: RunningPrometheus;
let byNode: PlotData;
let byNamespace: PlotData;

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: backfill() });
  byNode = await fixturePlotData(prom.url, "current", "node", WINDOW);
  byNamespace = await fixturePlotData(prom.url, "current", "namespace", WINDOW);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
});

const defined = (ws: Array<number | null>) => ws.filter((v): v is number => v !== null);
const series = (d: PlotData, name: string) => d.power.groups.find((g) => g.name === name)!.watts;
/**
 * node-a's points outside its scrape gap (T+300..T+340) and the 40 s after it: next to the gap rate() sees
 * fewer samples and extrapolates at most half a scrape to the range's edges, so those points read low
 * (Prometheus' documented rate() behaviour; Grafana draws the same).
 */
const fullySampled = (ws: Array<number | null>) => ws.filter((_, i) => i + 100 < 290 || i + 100 > 390);

describe("power series from query_range", () => {
  it("has the watts the fixtures were made with, per node and per namespace, with the platform line", () => {
    expect(byNode.power.stepMs).toBe(1000);
    expect(byNode.power.rangeMs).toBe(40_000); // 4 scrapes of 10 s
    expect(byNode.power.times).toHaveLength(301);
    expect(byNode.power.groups.map((g) => g.name)).toEqual(["node-a", "node-b"]);
    for (const v of defined(fullySampled(series(byNode, "node-a")))) expect(v).toBeCloseTo(50, 6);
    // node-b's Kepler restart loses 100 J (see fixtures.ts): the points whose range spans it dip a little.
    for (const v of defined(series(byNode, "node-b"))) expect(v).toBeGreaterThan(15);
    expect(defined(series(byNode, "node-b")).filter((v) => Math.abs(v - 20) < 1e-6).length).toBeGreaterThan(
      200,
    );
    // Platform: the whole-server PowerControl entry (200 W), not its sum with the CPU entry (80 W).
    expect(byNode.power.platform.map((p) => p.name)).toEqual(["node-a"]);
    expect(new Set(defined(byNode.power.platform[0]!.watts))).toEqual(new Set([200]));

    for (const v of defined(fullySampled(series(byNamespace, "batch")))) expect(v).toBeGreaterThan(35);
    expect(defined(fullySampled(series(byNamespace, "web"))).every((v) => Math.abs(v - 15) < 1e-6)).toBe(
      true,
    );
    // The bars are the figures `energy` prints.
    expect(byNamespace.energy).toEqual([
      { name: "batch", joules: 11950 },
      { name: "web", joules: 4500 },
    ]);
  });

  it("leaves node-a's missing scrapes as a gap, not as zero watts", () => {
    const a = series(byNode, "node-a");
    const gapAt = (s: number) => a[s - 100]; // times start at T+100, 1 s apart
    expect(gapAt(340)).toBeNull();
    expect(gapAt(280)).toBeCloseTo(50, 6);
    expect(gapAt(380)).toBeCloseTo(50, 6);
    expect(a.includes(0)).toBe(false);
  });

  it("reads the legacy line's series the same way (rate of the joule counters, platform from its counter)", async () => {
    const legacy = await fixturePlotData(prom.url, "legacy", "node", WINDOW_LEGACY);
    expect(legacy.power.times[0]).toBe(WINDOW_LEGACY.from * 1000);
    for (const v of defined(fullySampled(series(legacy, "node-a")))) expect(v).toBeCloseTo(50, 6);
    for (const v of defined(fullySampled(legacy.power.platform[0]!.watts))) expect(v).toBeCloseTo(200, 6);
  });

  it("keeps every window at no more than ~300 points with a step a person would pick", () => {
    const w = (s: number) => ({ fromMs: 0, toMs: s * 1000 });
    expect(chooseStepMs(w(300))).toBe(1000);
    expect(chooseStepMs(w(3600))).toBe(15_000);
    expect(chooseStepMs(w(86_400))).toBe(300_000);
    expect(chooseStepMs(w(30 * 86_400))).toBe(10_800_000);
    for (const s of [1, 299, 301, 7000, 86_401, 400 * 86_400])
      expect(s / (chooseStepMs(w(s)) / 1000)).toBeLessThanOrEqual(MAX_POINTS);
  });
});

describe("the SVG", () => {
  it("is well-formed XML with the series, axis names with units, the time zone and the window", () => {
    const { svg } = energyPlot(byNode);
    expect(xmlErrors(svg)).toBe("");
    expect(svg.startsWith("<svg")).toBe(true);
    for (const text of [
      ">node-a<",
      ">node-b<",
      ">node-a platform (BMC)<",
      ">power (W)<",
      ">energy (kJ)<",
      ">time (UTC)<",
      ">15.0 kJ<",
      ">5.90 kJ<",
      "Power and energy by node",
      "2023-11-14 22:15:00 to 2023-11-14 22:20:00 UTC (5 min)",
    ])
      expect(svg).toContain(text);
  });

  it("labels the time axis in the zone asked for, and says which", () => {
    const { svg } = energyPlot(byNode, { timeZone: "Europe/Berlin" });
    expect(svg).toContain(">time (Europe/Berlin)<");
    // 22:15 UTC is 23:15 in Berlin in November (CET, UTC+1).
    expect(svg).toContain("2023-11-14 23:15:00 to 2023-11-14 23:20:00 Europe/Berlin");
    expect(svg).toMatch(/>23:1\d:\d\d</);
    expect(svg).not.toMatch(/>22:1\d:\d\d</);
  });

  it("marks experiment phases as labelled bands", () => {
    const phases = [
      { label: "idle", startMs: (T + 100) * 1000, endMs: (T + 200) * 1000 },
      { label: "cpu 50% x4", startMs: (T + 210) * 1000, endMs: (T + 400) * 1000 },
    ];
    const { svg } = energyPlot(byNamespace, { phases, title: "Experiment cpu-sweep" });
    expect(xmlErrors(svg)).toBe("");
    expect(svg).toContain(">idle<");
    expect(svg).toContain(">cpu 50% x4<");
    expect(svg).toContain("Experiment cpu-sweep");
    expect(svg).toContain(">batch<");
    expect(svg).toContain(">web<");
  });

  it("is the same bytes for the same input, drawn twice in one process", () => {
    const a = energyPlot(byNamespace, {
      phases: [{ label: "p", startMs: WINDOW.from * 1000, endMs: WINDOW.to * 1000 }],
    });
    energyPlot(byNode);
    const b = energyPlot(byNamespace, {
      phases: [{ label: "p", startMs: WINDOW.from * 1000, endMs: WINDOW.to * 1000 }],
    });
    expect(b.svg).toBe(a.svg);
    expect(a.svg).not.toMatch(/\bzr\d+-/);
  });

  it("gives a group the same colour whatever other groups the plot has", () => {
    const plot = (names: string[]): string => {
      const times = byNode.power.times;
      return energyPlot({
        ...byNode,
        by: "namespace",
        power: {
          ...byNode.power,
          groups: names.map((name) => ({ name, watts: times.map(() => 10) })),
          platform: [],
        },
        energy: names.map((name, i) => ({ name, joules: 1000 * (i + 1) })),
      }).svg;
    };
    const one = plot(["ctl", "batch", "web"]);
    const two = plot(["monitoring", "kube-system", "ctl", "system"]);
    // The names here collide with nothing earlier in name order, so each has its preferred colour.
    for (const names of [
      ["ctl", "batch", "web"],
      ["monitoring", "kube-system", "ctl", "system"],
    ])
      for (const [name, colour] of coloursFor(names)) expect(colour, name).toBe(preferredColour(name));
    expect(legendColour(one, "ctl")).toBe(preferredColour("ctl"));
    expect(legendColour(two, "ctl")).toBe(preferredColour("ctl"));
    expect(legendColour(one, "batch")).not.toBe(legendColour(one, "ctl"));
  });

  it("moves only the later name (in name order) of two that hash to the same colour", () => {
    expect(preferredColour("default")).toBe(preferredColour("ctl"));
    const colours = coloursFor(["default", "web", "ctl"]);
    expect(colours.get("ctl")).toBe(preferredColour("ctl"));
    expect(colours.get("web")).toBe(preferredColour("web"));
    expect(colours.get("default")).not.toBe(colours.get("ctl"));
    expect(coloursFor(["ctl", "web", "default"])).toEqual(colours);
  });

  it("sums the smallest groups into one 'other' entry when there are too many to tell apart", () => {
    const times = byNode.power.times;
    const names = Array.from({ length: 14 }, (_, i) => `ns-${String(i).padStart(2, "0")}`);
    const { svg } = energyPlot({
      ...byNode,
      by: "namespace",
      power: {
        ...byNode.power,
        groups: names.map((name) => ({ name, watts: times.map(() => 1) })),
        platform: [],
      },
      energy: names.map((name, i) => ({ name, joules: 100 * (14 - i) })),
    });
    expect(svg).toContain(">ns-08<");
    expect(svg).not.toContain(">ns-09<");
    expect(svg).toContain(">other (5 namespaces)<");
  });
});

describe("the PNG", () => {
  it("is a PNG of the SVG's size, the same bytes twice", () => {
    const { svg } = energyPlot(byNode, { width: 900, height: 500 });
    const png = toPng(svg);
    expect(pngSize(png)).toEqual({ width: 900, height: 500 });
    expect(toPng(energyPlot(byNode, { width: 900, height: 500 }).svg).equals(png)).toBe(true);
  });

  it("draws text with DejaVu Sans from its file (fonts-dejavu-core), and still renders without it", () => {
    expect(plotFontFiles()[0]).toMatch(/\/DejaVuSans\.ttf$/);
    expect(plotFontFiles(["/nonexistent/fonts"])).toEqual([]);
    const { svg } = energyPlot(byNode, { width: 600, height: 400 });
    expect(pngSize(toPng(svg, []))).toEqual({ width: 600, height: 400 });
  });
});

// The legacy window is two hours later: a plot of it must not reach into the current line's data.
it("fixtures: the two lines' windows are apart", () => {
  expect(TL - T).toBe(7200);
});
