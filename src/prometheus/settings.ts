/**
 * Where `energy` and `measure` get their settings: flags first, then the inventory, then the schema's
 * defaults. Only the inventory is read (never the vault): these commands need no secrets, and with
 * `--prometheus URL` they run without any inventory file, e.g. from a laptop pointed at a port-forward.
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
import { KEPLER_LINES, type KeplerLine } from "./kepler-metrics.js";
import { parseDuration } from "./window.js";

export interface EnergyFlags {
  prometheus?: string;
  kepler?: string;
  gridIntensity?: string;
  scrapeInterval?: string;
}

export interface EnergySettings {
  prometheusUrl: string;
  line: KeplerLine;
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

  let flavour: KeplerFlavour;
  let flavourSource: FlavourSource;
  if (flags.kepler !== undefined) {
    if (flags.kepler !== "current" && flags.kepler !== "legacy") {
      throw new InputError(
        `--kepler "${flags.kepler}" is not a Kepler line`,
        "pass --kepler current (0.10+) or --kepler legacy (0.7.x-0.9.x)",
      );
    }
    flavour = flags.kepler;
    flavourSource = { from: "flag" };
  } else if (inventory) {
    flavour = inventory.cluster.kepler.flavour;
    flavourSource = { from: "inventory", inventoryFile: inventory.file };
  } else {
    flavour = schemaDefault(["cluster", "kepler", "flavour"]) as KeplerFlavour;
    flavourSource = { from: "default" };
  }

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
    line: KEPLER_LINES[flavour],
    flavourSource,
    gridIntensityGPerKwh,
    gridSource,
    scrapeIntervalMs,
    inventory,
  };
}

/** With `--prometheus` an absent inventory is fine; a present one is still read (flavour, intensity). */
function readInventory(path: string, haveUrl: boolean): Inventory | undefined {
  if (!existsSync(resolve(path))) {
    if (haveUrl) return undefined;
    throw new InputError(
      `no inventory at ${resolve(path)} to find Prometheus from`,
      "pass --prometheus http://<host>:<port> (with --kepler current|legacy), or -i <inventory> (create one with `powerstack init`)",
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
