/**
 * Energy and carbon arithmetic, kept apart so the numbers a user sees can be checked by hand:
 * kWh = J / 3.6e6; average W = J / s; CO2e g = kWh x grid intensity (gCO2e/kWh; the default and its
 * source are `DEFAULTS.gridIntensityGPerKwh` in src/inventory/schema.ts).
 */

export const JOULES_PER_KWH = 3_600_000;

export function kwh(joules: number): number {
  return joules / JOULES_PER_KWH;
}

export function averageWatts(joules: number, seconds: number): number {
  return seconds > 0 ? joules / seconds : NaN;
}

export function co2Grams(joules: number, gridIntensityGPerKwh: number): number {
  return kwh(joules) * gridIntensityGPerKwh;
}

/** The derived figures of one energy amount over a window, as shown and as exported. */
export interface EnergyFigures {
  joules: number;
  kwh: number;
  watts: number;
  co2G: number;
}

export function figures(joules: number, seconds: number, gridIntensityGPerKwh: number): EnergyFigures {
  return {
    joules,
    kwh: kwh(joules),
    watts: averageWatts(joules, seconds),
    co2G: co2Grams(joules, gridIntensityGPerKwh),
  };
}

/** Sum that stays undefined when every part is (a column with no data has no total either). */
export function sumDefined(values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : undefined;
}
