/** Joules for people reading a gate line or a job summary: `850.0 J`, `12.40 kJ`, `1.25 MJ`. */
export function formatJ(joules: number): string {
  const a = Math.abs(joules);
  if (a < 1e3) return `${joules.toFixed(1)} J`;
  if (a < 1e6) return `${(joules / 1e3).toFixed(2)} kJ`;
  return `${(joules / 1e6).toFixed(2)} MJ`;
}

/** Seconds with at most three decimals and no trailing zeros: `2`, `1.5`, `120.25`. */
export function formatS(seconds: number): string {
  return String(Number(seconds.toFixed(3)));
}
