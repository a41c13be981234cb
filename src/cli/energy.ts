/**
 * `powerstack energy`: energy (J, kWh), average power (W), CO2e (g) at the grid intensity and CO2 had it
 * come from coal, petroleum or natural gas, per node, namespace or pod over a window, from Kepler's
 * counters in Prometheus. Reads the inventory only (no vault): see src/prometheus/settings.ts for where
 * each setting comes from, and kepler-detect.ts for how the Kepler line is found when nothing names it.
 */
import type { ParsedCommand } from "./argv.js";
import { ExitCode, InputError } from "../errors.js";
import { PrometheusClient } from "../prometheus/client.js";
import { collectEnergy } from "../prometheus/energy-report.js";
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
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const o = cmd.opts<EnergyOptions>();
  if (o.csv && opts.json) throw new InputError("--csv and --json both asked for", "pick one output format");
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
  return ExitCode.ok;
}
