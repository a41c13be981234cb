/**
 * The energy picture: power over time per group (stacked areas, watts), the platform (BMC) power per node
 * as dashed lines beside it, and the window's energy per group as bars, with optional phase boundaries
 * (experiments) as labelled bands. Drawn by Apache ECharts' server-side renderer to an SVG string: no DOM,
 * no canvas, no browser.
 *
 * Same input, same bytes: animation is off, times are formatted in a named zone (time-zone.ts) and never
 * in the host's, text is measured with a fixed table of the PNG font's widths (text-width.ts, not a host
 * font), and the counters in ECharts' SSR ids and class names (`zr3-cls-17`) are renumbered.
 */
import { createRequire } from "node:module";
import type { EChartsOption } from "echarts";
import type { EnergyReport } from "../prometheus/energy-report.js";
import { labelOf } from "../prometheus/energy-report.js";
import type { Grouping } from "../prometheus/kepler-metrics.js";
import { humanDuration, type Window } from "../prometheus/window.js";
import { coloursFor, OTHER_COLOUR } from "./palette.js";
import type { GroupPower, PowerSeries } from "./power-series.js";
import { textWidth } from "./text-width.js";
import { ZonedClock } from "./time-zone.js";

// ECharts' single-file CommonJS bundle: its ESM entry loads ~1000 small modules, 0.8 s against 0.3 s.
const echarts = createRequire(import.meta.url)("echarts") as typeof import("echarts");

// Lay text out with the PNG font's widths (text-width.ts). Global to ECharts in this process; powerstack
// draws nothing else with it.
echarts.setPlatformAPI({ measureText: (text, font) => ({ width: textWidth(text, font) }) });

export interface EnergyBar {
  name: string;
  joules: number;
}

/** Everything a plot is drawn from: plain data, so a results directory can keep it and re-render offline. */
export interface PlotData {
  by: Grouping;
  window: Window;
  power: PowerSeries;
  /** Energy per group over the window exactly as `energy` prices it (the bars; also the stacking order). */
  energy: EnergyBar[];
  /**
   * Missed scrapes of the node series (the report's coverage): shaded, because rate() next to a gap sees
   * fewer samples and reads low, and a reader should see why the line dips rather than guess.
   */
  gaps?: ScrapeGap[];
}

export interface ScrapeGap {
  node: string;
  fromMs: number;
  toMs: number;
}

/** A phase of an experiment: a labelled band on the time axis. */
export interface Phase {
  label: string;
  startMs: number;
  endMs: number;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  /** IANA zone the time axis is labelled in (resolveTimeZone); UTC when absent. */
  timeZone?: string;
  phases?: Phase[];
  /** Replaces the first title line (`Power and energy by node`), e.g. the experiment's name. */
  title?: string;
  /** Groups drawn one by one; the rest are summed as "other". */
  maxGroups?: number;
}

export const DEFAULT_SIZE = { width: 1200, height: 640 };
const DEFAULT_MAX_GROUPS = 10;
/** The font the PNG renderer loads (png.ts); browsers without it fall back to Verdana, as wide, then any sans-serif. */
export const FONT_FAMILY = "DejaVu Sans, Verdana, sans-serif";

export function plotDataFrom(
  report: Pick<EnergyReport, "by" | "window" | "rows"> & Partial<Pick<EnergyReport, "coverage">>,
  power: PowerSeries,
): PlotData {
  return {
    by: report.by,
    window: report.window,
    power,
    energy: report.rows.map((r) => ({ name: labelOf(r), joules: r.joules })),
    gaps: (report.coverage ?? []).flatMap((c) =>
      c.gaps.map((g) => ({ node: c.node, fromMs: g.fromMs, toMs: g.toMs })),
    ),
  };
}

/** J, kJ, MJ or GJ: whichever keeps the largest bar below 1000 of its unit (short axis labels). */
export function energyUnit(maxJoules: number): { unit: string; scale: number } {
  for (const [unit, scale] of [
    ["J", 1],
    ["kJ", 1e3],
    ["MJ", 1e6],
  ] as const) {
    if (maxJoules < scale * 1e3) return { unit, scale };
  }
  return { unit: "GJ", scale: 1e9 };
}

/** Three significant digits, no exponent: 15.0, 5.90, 0.120, 1234. */
function figure(value: number): string {
  if (value === 0) return "0";
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

interface Drawn {
  name: string;
  colour: string;
  watts: Array<number | null>;
  joules: number;
}

/** The groups in stacking order (most energy first, at the bottom), the smallest summed into "other". */
function drawnGroups(data: PlotData, maxGroups: number): Drawn[] {
  const joules = new Map(data.energy.map((e) => [e.name, e.joules]));
  const watts = new Map(data.power.groups.map((g) => [g.name, g.watts]));
  const names = [...new Set([...joules.keys(), ...watts.keys()])].sort(
    (a, b) => (joules.get(b) ?? 0) - (joules.get(a) ?? 0) || a.localeCompare(b),
  );
  const empty = () => data.power.times.map(() => null);
  const shown = names.length > maxGroups ? names.slice(0, maxGroups - 1) : names;
  const rest = names.slice(shown.length);
  const colours = coloursFor(shown);
  const out: Drawn[] = shown.map((name) => ({
    name,
    colour: colours.get(name)!,
    watts: watts.get(name) ?? empty(),
    joules: joules.get(name) ?? 0,
  }));
  if (rest.length) {
    out.push({
      name: `other (${rest.length} ${data.by === "pod" ? "pods" : `${data.by}s`})`,
      colour: OTHER_COLOUR,
      watts: data.power.times.map((_, i) => {
        const vs = rest.map((n) => watts.get(n)?.[i]).filter((v): v is number => typeof v === "number");
        return vs.length ? vs.reduce((a, b) => a + b, 0) : null;
      }),
      joules: rest.reduce((a, n) => a + (joules.get(n) ?? 0), 0),
    });
  }
  return out;
}

const points = (times: number[], watts: Array<number | null>) =>
  times.map((t, i) => [t, watts[i] ?? "-"] as [number, number | string]);

/** Axis labels in the plot's zone: seconds for short windows, the date once the window spans days. */
function timeLabel(clock: ZonedClock, w: Window): (ms: number) => string {
  const span = w.toMs - w.fromMs;
  if (!clock.sameDay(w.fromMs, w.toMs)) return (ms) => clock.dayHourMinute(ms);
  if (span <= 15 * 60_000) return (ms) => clock.time(ms);
  return (ms) => clock.hourMinute(ms);
}

export function energyPlot(data: PlotData, options: PlotOptions = {}): { svg: string } {
  const width = options.width ?? DEFAULT_SIZE.width;
  const height = options.height ?? DEFAULT_SIZE.height;
  const zone = options.timeZone ?? "UTC";
  const clock = new ZonedClock(zone);
  const w = data.window;
  const groups = drawnGroups(data, options.maxGroups ?? DEFAULT_MAX_GROUPS);
  const platformColours = coloursFor(data.power.platform.map((p) => p.name));
  const { unit, scale } = energyUnit(Math.max(0, ...groups.map((g) => g.joules)));
  const byWord = data.by === "pod" ? "pod" : data.by;

  const areaSeries = groups.map((g) => ({
    type: "line",
    name: g.name,
    stack: "power",
    xAxisIndex: 0,
    yAxisIndex: 0,
    showSymbol: false,
    color: g.colour,
    lineStyle: { width: 1 },
    areaStyle: { opacity: 0.85 },
    data: points(data.power.times, g.watts),
  }));
  const platformName = (p: GroupPower) => `${p.name} platform (BMC)`;
  const platformSeries = data.power.platform.map((p) => ({
    type: "line",
    name: platformName(p),
    xAxisIndex: 0,
    yAxisIndex: 0,
    symbol: "none",
    color: platformColours.get(p.name),
    lineStyle: { width: 2, type: "dashed" },
    data: points(data.power.times, p.watts),
  }));
  const phaseSeries = bandSeries(
    "phases",
    { position: "insideTop", color: "#333", fontSize: 11 },
    (options.phases ?? []).map((p, i) => ({
      name: p.label,
      fromMs: p.startMs,
      toMs: p.endMs,
      itemStyle: {
        color: i % 2 ? "rgba(0,0,0,0.07)" : "rgba(0,0,0,0.03)",
        borderColor: "rgba(0,0,0,0.35)",
        borderWidth: 1,
        borderType: "dashed",
      },
    })),
  );
  const gapSeries = bandSeries(
    "scrape gaps",
    // Below the phase labels, which sit at the top of their band.
    {
      position: "insideTop",
      offset: [0, options.phases?.length ? 18 : 0],
      color: "#a33",
      fontSize: 11,
    },
    (data.gaps ?? []).map((g) => ({
      name: `no samples: ${g.node}`,
      fromMs: g.fromMs,
      toMs: g.toMs,
      itemStyle: { color: "rgba(225,87,89,0.12)" },
    })),
  );
  const barSeries = {
    type: "bar",
    name: "energy",
    xAxisIndex: 1,
    yAxisIndex: 1,
    barMaxWidth: 28,
    label: {
      show: true,
      position: "right",
      fontSize: 11,
      formatter: (p: { value: number }) => `${figure(p.value)} ${unit}`,
    },
    data: groups.map((g) => ({ value: g.joules / scale, itemStyle: { color: g.colour } })),
  };

  const option = {
    animation: false,
    useUTC: true,
    backgroundColor: "#ffffff",
    textStyle: { fontFamily: FONT_FAMILY },
    title: {
      text: options.title ?? `Power and energy by ${byWord}`,
      subtext:
        `${clock.dateTime(w.fromMs)} to ${clock.dateTime(w.toMs)} ${zone} (${humanDuration(w.toMs - w.fromMs)}); ` +
        `power: Kepler ${data.by === "node" ? "CPU package" : "attributed CPU package"}, ` +
        `step ${humanDuration(data.power.stepMs)}, each point the mean over the ${humanDuration(data.power.rangeMs)} before it`,
      left: "center",
      top: 6,
      textStyle: { fontSize: 16 },
      subtextStyle: { fontSize: 12, color: "#555" },
    },
    legend: {
      bottom: 6,
      left: "center",
      itemWidth: 18,
      itemGap: 16,
      // Areas as filled squares, platform power as its dashed line (series without symbols draw just the line).
      data: [
        ...areaSeries.map((s) => ({ name: s.name, icon: "roundRect" })),
        ...platformSeries.map((s) => s.name),
      ],
    },
    grid: [
      { left: 70, right: "37%", top: 78, bottom: 92 },
      { left: "70%", right: 80, top: 78, bottom: 92, containLabel: true },
    ],
    xAxis: [
      {
        type: "time",
        gridIndex: 0,
        min: w.fromMs,
        max: w.toMs,
        name: `time (${zone})`,
        nameLocation: "middle",
        nameGap: 28,
        axisLabel: { formatter: timeLabel(clock, w), hideOverlap: true },
        splitLine: { show: false },
      },
      {
        type: "value",
        gridIndex: 1,
        name: `energy (${unit})`,
        nameLocation: "middle",
        nameGap: 28,
        axisLabel: { hideOverlap: true },
      },
    ],
    yAxis: [
      // Headroom above the highest line: a platform line at the axis maximum would hide in the frame.
      {
        type: "value",
        gridIndex: 0,
        name: "power (W)",
        nameLocation: "middle",
        nameGap: 46,
        boundaryGap: [0, "8%"],
      },
      {
        type: "category",
        gridIndex: 1,
        inverse: true,
        data: groups.map((g) => g.name),
        axisTick: { show: false },
        axisLabel: { width: 150, overflow: "truncate" },
      },
    ],
    series: [...areaSeries, ...platformSeries, ...phaseSeries, ...gapSeries, barSeries],
  };

  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption(option as EChartsOption);
    return { svg: stableIds(chart.renderToSVGString()) };
  } finally {
    chart.dispose();
  }
}

/**
 * ECharts' SSR output names clip paths and style classes from counters (`zr3-c0`, `zr3-cls-17`): the
 * instance number and the class counter keep counting across charts in one process, so the same picture
 * drawn twice would differ in them. Renumbered in order of first appearance, per kind, they are the same.
 */
function stableIds(svg: string): string {
  const seen = new Map<string, Map<string, number>>();
  return svg.replace(/\bzr\d+-([a-z]+-?)(\d+)\b/g, (_, kind: string, n: string) => {
    let numbers = seen.get(kind);
    if (!numbers) seen.set(kind, (numbers = new Map()));
    if (!numbers.has(n)) numbers.set(n, numbers.size);
    return `ps-${kind}${numbers.get(n)}`;
  });
}

/** Labelled time bands (phases, scrape gaps) over the power chart: an empty line series carrying a markArea. */
function bandSeries(
  name: string,
  label: Record<string, unknown>,
  bands: Array<{ name: string; fromMs: number; toMs: number; itemStyle: Record<string, unknown> }>,
): Array<Record<string, unknown>> {
  if (bands.length === 0) return [];
  return [
    {
      type: "line",
      name,
      xAxisIndex: 0,
      yAxisIndex: 0,
      data: [],
      silent: true,
      markArea: {
        silent: true,
        label,
        data: bands.map((b) => [
          { name: b.name, xAxis: b.fromMs, itemStyle: b.itemStyle },
          { xAxis: b.toMs },
        ]),
      },
    },
  ];
}
