/**
 * Writing a plot to the file the user named: the extension picks SVG or PNG, the file appears whole or
 * not at all (temp file in the same directory, then rename), and `plotExperiment` is the one call
 * `experiment report --plot` needs: collect, draw with the phases marked, write.
 */
import { randomBytes } from "node:crypto";
import { rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { InputError } from "../errors.js";
import type { PrometheusClient } from "../prometheus/client.js";
import type { FlavourSource } from "../prometheus/diagnose.js";
import { collectEnergy } from "../prometheus/energy-report.js";
import type { Grouping, LineSetting } from "../prometheus/kepler-metrics.js";
import type { Window } from "../prometheus/window.js";
import { energyPlot, plotDataFrom, type Phase, type PlotData, type PlotOptions } from "./chart.js";
import { toPng } from "./png.js";
import { collectPowerSeries } from "./power-series.js";

export type PlotFormat = "svg" | "png";
const FORMATS: Record<string, PlotFormat> = { ".svg": "svg", ".png": "png" };

/** The format a plot file's extension asks for; anything else names the flag and what it takes. */
export function plotFormat(file: string, flag = "--plot"): PlotFormat {
  const format = FORMATS[extname(file).toLowerCase()];
  if (!format)
    throw new InputError(
      `${flag} ${file}: the file name must end in .svg or .png (the extension picks the format)`,
      `e.g. ${flag} energy.svg or ${flag} energy.png`,
    );
  return format;
}

/** The bytes of the plot in the format `file` asks for. */
export function renderPlot(file: string, data: PlotData, options: PlotOptions = {}, flag = "--plot"): Buffer {
  const format = plotFormat(file, flag);
  const { svg } = energyPlot(data, options);
  return format === "png" ? toPng(svg) : Buffer.from(svg, "utf8");
}

/** Whole or not at all: a reader (a browser reloading it, CI publishing it) never sees half a file. */
export async function writeFileAtomically(file: string, bytes: Buffer): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, bytes, { flag: "wx" });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT" || e.code === "EACCES" || e.code === "EROFS" || e.code === "ENOTDIR")
      throw new InputError(
        `cannot write the plot ${file}: ${e.code === "ENOENT" ? "its directory does not exist" : (e.message ?? e.code)}`,
        "give a path in an existing, writable directory",
      );
    throw err;
  }
}

/** Draw `data` and write it to `file` (format by extension). */
export async function writePlot(
  file: string,
  data: PlotData,
  options: PlotOptions = {},
  flag = "--plot",
): Promise<void> {
  await writeFileAtomically(file, renderPlot(file, data, options, flag));
}

export interface ExperimentPlotRequest {
  /** The experiment's whole window (first phase's start to the last one's end). */
  window: Window;
  phases: Phase[];
  by: Grouping;
  /** From resolveSettings(): the Kepler line (or detection) and where that choice came from. */
  line: LineSetting;
  flavourSource: FlavourSource;
  scrapeIntervalMs: number;
  /** `.svg` or `.png`. */
  file: string;
  /** The flag the file came from, for the error on a wrong extension. */
  flag?: string;
  timeZone?: string;
  title?: string;
  nowMs?: number;
}

/**
 * `experiment report --plot FILE`: the experiment's window priced like `energy` (the bars), its power
 * series, the phases as labelled bands. Returns the PlotData too, so a results directory can keep it and
 * re-render the same picture later without Prometheus (`writePlot(file, data, { phases, ... })`).
 */
export async function plotExperiment(
  client: PrometheusClient,
  req: ExperimentPlotRequest,
): Promise<PlotData> {
  plotFormat(req.file, req.flag);
  const report = await collectEnergy(client, req.line, req.by, req.window, {
    nowMs: req.nowMs ?? Date.now(),
    flavourSource: req.flavourSource,
  });
  const power = await collectPowerSeries(client, report, { scrapeIntervalMs: req.scrapeIntervalMs });
  const data = plotDataFrom(report, power);
  await writePlot(req.file, data, { phases: req.phases, timeZone: req.timeZone, title: req.title }, req.flag);
  return data;
}
