/**
 * What the plot tests draw from: the energy fixtures (test/energy/fixtures.ts) in a real Prometheus,
 * priced by `collectEnergy` and turned into power series by `collectPowerSeries`, as `energy --plot` does.
 */
import { execFileSync } from "node:child_process";
import { PrometheusClient } from "../../src/prometheus/client.js";
import { collectEnergy } from "../../src/prometheus/energy-report.js";
import { KEPLER_LINES, type Grouping } from "../../src/prometheus/kepler-metrics.js";
import { plotDataFrom, type PlotData } from "../../src/plot/chart.js";
import { collectPowerSeries } from "../../src/plot/power-series.js";
import type { KeplerFlavour } from "../../src/inventory/types.js";

/** The fixtures are scraped every 10 s. */
export const SCRAPE_MS = 10_000;

export async function fixturePlotData(
  url: string,
  flavour: KeplerFlavour,
  by: Grouping,
  w: { from: number; to: number },
): Promise<PlotData> {
  const client = new PrometheusClient(url);
  const window = { fromMs: w.from * 1000, toMs: w.to * 1000 };
  const report = await collectEnergy(client, KEPLER_LINES[flavour], by, window, {
    nowMs: window.toMs,
    flavourSource: { from: "flag" },
    coverage: false,
  });
  return plotDataFrom(report, await collectPowerSeries(client, report, { scrapeIntervalMs: SCRAPE_MS }));
}

/** xmllint's verdict on a document: empty when it parses, the parser's complaint otherwise. */
export function xmlErrors(text: string | Buffer): string {
  try {
    execFileSync("xmllint", ["--noout", "-"], { input: text, stdio: ["pipe", "pipe", "pipe"] });
    return "";
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}

/** Width and height from a PNG's IHDR chunk (bytes 16-23, big-endian), after checking the signature. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(signature)) throw new Error("not a PNG: wrong signature");
  if (png.subarray(12, 16).toString("latin1") !== "IHDR") throw new Error("not a PNG: no IHDR first");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** The colour of a legend entry: the first colour of the icon path drawn just before its text. */
export function legendColour(svg: string, name: string): string | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(
    `\\n<path[^\\n]*?(?:fill|stroke)="(#[0-9a-f]{6})"[^\\n]*\\n<text[^>]*>${escaped}</text>`,
  ).exec(svg);
  return m?.[1];
}
