/**
 * CO2 per kWh by the fuel that generated it: "what would this energy have emitted from coal, petroleum or
 * natural gas", shown beside the one grid intensity (`cluster.carbon.grid_intensity_g_per_kwh`) that
 * prices the CO2e figure. These are the factors Kepler's community (legacy) Grafana dashboard uses
 * (its constants `coal`, `petroleum`, `natural_gas`), from the U.S. Energy Information Administration:
 * pounds of CO2 per kWh of U.S. electricity generated from each fuel (EIA FAQ "How much carbon dioxide
 * is produced per kilowatthour of U.S. electricity generation?", eia.gov/tools/faqs/faq.php?id=74&t=11;
 * /work/shared/docs/REFERENCE.md "Carbon accounting"). They are direct CO2 at the plant, not CO2e.
 *
 * The one place these numbers live: `energy`, `measure` and the CO2 dashboard all read them from here.
 */
import { kwh } from "./energy-math.js";

/** The avoirdupois pound in grams, rounded as EIA's lb-to-g conversions and REFERENCE.md use it. */
export const GRAMS_PER_POUND = 453.6;

export type Co2Source = "coal" | "petroleum" | "naturalGas";

export interface Co2SourceFactor {
  source: Co2Source;
  /** For people: `natural gas`. */
  name: string;
  /** As published (EIA): pounds of CO2 per kWh generated. */
  lbPerKwh: number;
  /** lbPerKwh x GRAMS_PER_POUND. */
  gPerKwh: number;
}

/** Where the factors come from, printed beside them. */
export const CO2_SOURCE_REFERENCE =
  "EIA lb CO2 per kWh generated x 453.6 g/lb, as in Kepler's legacy dashboard";

const factor = (source: Co2Source, name: string, lbPerKwh: number): Co2SourceFactor => ({
  source,
  name,
  lbPerKwh,
  gPerKwh: lbPerKwh * GRAMS_PER_POUND,
});

/** In the order Kepler's dashboard lists them, and every output shows them. */
export const CO2_SOURCES: readonly Co2SourceFactor[] = [
  factor("coal", "coal", 2.23),
  factor("petroleum", "petroleum", 2.13),
  factor("naturalGas", "natural gas", 0.91),
];

export type Co2BySource = Record<Co2Source, number>;

/** Grams of CO2 the energy would have emitted if generated from each fuel. */
export function co2GramsBySource(joules: number): Co2BySource {
  const e = kwh(joules);
  return Object.fromEntries(CO2_SOURCES.map((f) => [f.source, e * f.gPerKwh])) as Co2BySource;
}

/** `coal 1011.528, petroleum 966.168, natural gas 412.776 g/kWh`: the factors, for a header line. */
export function describeCo2Sources(): string {
  return `${CO2_SOURCES.map((f) => `${f.name} ${Number(f.gPerKwh.toFixed(3))}`).join(", ")} g/kWh`;
}
