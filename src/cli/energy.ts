/**
 * `powerstack energy`: energy (J, kWh), average power (W), CO2e (g) at the grid intensity and CO2 had it
 * come from coal, petroleum or natural gas, per node, namespace or pod over a window, from Kepler's
 * counters in Prometheus. Reads the inventory only (no vault): see src/prometheus/settings.ts for where
 * each setting comes from, and kepler-detect.ts for how the Kepler line is found when nothing names it.
 * `--plot FILE` also draws the window (src/plot/): the printed output stays exactly as without it.
 */
import type { ParsedCommand } from "./argv.js";
import { ExitCode, InputError } from "../errors.js";
import { PrometheusClient } from "../prometheus/client.js";
import { collectEnergy, type EnergyReport } from "../prometheus/energy-report.js";
import { energyCsv, energyJson, energyText } from "../prometheus/energy-output.js";
import type { Grouping } from "../prometheus/kepler-metrics.js";
import { resolveSettings } from "../prometheus/settings.js";
import { resolveWindow } from "../prometheus/window.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import type { GlobalOptions } from "./options.js";

interface EnergyOptions {
  since?: string;
  from?: string;
  to?: string;
  by: Grouping;
  csv?: boolean;
  prometheus?: string;
  kepler?: string;
  gridIntensity?: string;
  plot?: string;
  tz?: string;
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const o = cmd.opts<EnergyOptions>();
  if (o.csv && opts.json) throw new InputError("--csv and --json both asked for", "pick one output format");
  if (o.tz !== undefined && o.plot === undefined)
    throw new InputError("--tz without --plot", "add --plot FILE.svg, or leave --tz out");
  // Bad plot arguments fail before any query, not after the table; ECharts loads only when asked for.
  const plot = o.plot === undefined ? undefined : await preparePlot(o.plot, o.tz);
  const nowMs = Date.now();
  const window = resolveWindow(o, nowMs);
  const settings = resolveSettings(opts.inventory, o);
  const client = new PrometheusClient(settings.prometheusUrl);
  const report = await collectEnergy(client, settings.line, o.by, window, {
    nowMs,
    flavourSource: settings.flavourSource,
  });

  const out = new Output(new Redactor(), opts.json);
  const pricing = { gridIntensityGPerKwh: settings.gridIntensityGPerKwh, gridSource: settings.gridSource };
  if (opts.json) for (const obj of energyJson(report, pricing, client.url)) out.object(obj);
  else if (o.csv) out.info(energyCsv(report, pricing));
  else out.info(energyText(report, pricing, client.url));

  if (plot) {
    await plot.write(client, report, settings.scrapeIntervalMs);
    if (opts.json) out.object({ type: "plot", file: plot.file });
    else out.info(`plot: ${plot.file}`);
  }
  return ExitCode.ok;
}

async function preparePlot(file: string, tz: string | undefined) {
  const [{ plotFormat, writePlot }, { resolveTimeZone }, { plotDataFrom }, { collectPowerSeries }] =
    await Promise.all([
      import("../plot/plot-file.js"),
      import("../plot/time-zone.js"),
      import("../plot/chart.js"),
      import("../plot/power-series.js"),
    ]);
  plotFormat(file);
  const timeZone = resolveTimeZone(tz);
  return {
    file,
    async write(client: PrometheusClient, report: EnergyReport, scrapeIntervalMs: number): Promise<void> {
      const power = await collectPowerSeries(client, report, { scrapeIntervalMs });
      await writePlot(file, plotDataFrom(report, power), { timeZone });
    },
  };
}
