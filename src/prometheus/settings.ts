/**
 * Where `energy` and `measure` get their settings: flags first, then the inventory, then the schema's
 * defaults. Only the inventory is read (never the vault): these commands need no secrets, and with
 * `--prometheus URL` they run without any inventory file, e.g. from a laptop pointed at a port-forward.
 *
 * The Kepler line: `--kepler current|legacy` wins; otherwise (and with `--kepler auto`) it is detected per
 * node from the series Prometheus holds (kepler-detect.ts): what runs is what gets priced, whatever the
 * inventory says was deployed (a cluster set up by other tools, a migration under way). The inventory's
 * `cluster.kepler.flavour` (else the schema's default) only breaks the tie for a node that has both lines.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../errors.js";
import { loadInventory } from "../inventory/load.js";
import { nodePortUrl } from "../inventory/node-port-url.js";
import { DEFAULTS, inventorySchema } from "../inventory/schema.js";
import type { Field } from "../inventory/schema-walker.js";
import type { Inventory, KeplerFlavour } from "../inventory/types.js";
import type { FlavourSource } from "./diagnose.js";
import { DETECT_LINES, KEPLER_LINES, type LineSetting } from "./kepler-metrics.js";
import { parseDuration } from "./window.js";

export interface EnergyFlags {
  prometheus?: string;
  kepler?: string;
  gridIntensity?: string;
  scrapeInterval?: string;
}

export interface EnergySettings {
  prometheusUrl: string;
  /** A named line, or `DETECT_LINES` (collectEnergy/readCoverage/explainMissing resolve it per window). */
  line: LineSetting;
  flavourSource: FlavourSource;
  gridIntensityGPerKwh: number;
  /** Where the grid intensity came from, printed beside the CO2 figures. */
  gridSource: string;
  scrapeIntervalMs: number;
  inventory?: Inventory;
}

export function resolveSettings(inventoryPath: string, flags: EnergyFlags): EnergySettings {
  const inventory = readInventory(inventoryPath, flags.prometheus !== undefined);

  const prometheusUrl = flags.prometheus ?? nodePortUrl(inventory!, "prometheus");

  const { line, flavourSource } = keplerLine(flags.kepler, inventory);

  let gridIntensityGPerKwh: number;
  let gridSource: string;
  if (flags.gridIntensity !== undefined) {
    gridIntensityGPerKwh = Number(flags.gridIntensity);
    if (!(gridIntensityGPerKwh >= 0 && gridIntensityGPerKwh <= 2000) || flags.gridIntensity.trim() === "") {
      throw new InputError(
        `--grid-intensity "${flags.gridIntensity}" is not a carbon intensity`,
        "give gCO2e per kWh between 0 and 2000, e.g. --grid-intensity 380",
      );
    }
    gridSource = "--grid-intensity";
  } else if (inventory) {
    gridIntensityGPerKwh = inventory.cluster.carbon.gridIntensityGPerKwh;
    gridSource = `cluster.carbon.grid_intensity_g_per_kwh in ${inventory.file}`;
  } else {
    gridIntensityGPerKwh = DEFAULTS.gridIntensityGPerKwh;
    gridSource = "default: IEA 2019 global average";
  }

  const scrapeIntervalMs =
    flags.scrapeInterval !== undefined
      ? parseDuration(flags.scrapeInterval, "--scrape-interval")
      : parseDuration(
          inventory?.cluster.monitoring.scrapeInterval ??
            (schemaDefault(["cluster", "monitoring", "scrape_interval"]) as string),
          "scrape_interval",
        );

  return {
    prometheusUrl,
    line,
    flavourSource,
    gridIntensityGPerKwh,
    gridSource,
    scrapeIntervalMs,
    inventory,
  };
}

const KEPLER_FLAG = ["current", "legacy", "auto"] as const;

function keplerLine(
  flag: string | undefined,
  inventory: Inventory | undefined,
): { line: LineSetting; flavourSource: FlavourSource } {
  if (flag !== undefined && !(KEPLER_FLAG as readonly string[]).includes(flag)) {
    throw new InputError(
      `--kepler "${flag}" is not a Kepler line`,
      "pass --kepler current (0.10+), --kepler legacy (0.7.x-0.9.x) or --kepler auto (detect it per node)",
    );
  }
  if (flag === "current" || flag === "legacy") {
    return { line: KEPLER_LINES[flag], flavourSource: { from: "flag" } };
  }
  const prefer =
    inventory?.cluster.kepler.flavour ?? (schemaDefault(["cluster", "kepler", "flavour"]) as KeplerFlavour);
  return { line: { ...DETECT_LINES, prefer }, flavourSource: { from: "detect" } };
}

/** With `--prometheus` an absent inventory is fine; a present one is still read (flavour, intensity). */
function readInventory(path: string, haveUrl: boolean): Inventory | undefined {
  if (!existsSync(resolve(path))) {
    if (haveUrl) return undefined;
    throw new InputError(
      `no inventory at ${resolve(path)} to find Prometheus from`,
      "pass --prometheus http://<host>:<port>, or -i <inventory> (create one with `powerstack init`)",
    );
  }
  return loadInventory(path);
}

/** A default straight from the inventory schema, so there is one place that decides it. */
function schemaDefault(path: string[]): unknown {
  let field: Field = inventorySchema;
  for (const key of path) {
    if (field.kind !== "object" || !field.fields[key])
      throw new Error(`inventory schema has no ${path.join(".")}`);
    field = field.fields[key]!;
  }
  return "default" in field ? field.default : undefined;
}
