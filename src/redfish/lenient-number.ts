/**
 * Numbers as BMCs actually send them. The schema says number, firmware says `245`, `245.0`, `"245"`,
 * `"245 W"` or `null`; a reading that is not a number is absent, never NaN.
 */
export function readNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  // A leading decimal number, optionally followed by a unit; anything else (e.g. "N/A") is no reading.
  const m = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?:[A-Za-z%]+)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

/** For values the schema declares integer (e.g. a port) but which arrive as `623.0` or `"623"`. */
export function readInteger(value: unknown): number | undefined {
  const n = readNumber(value);
  return n === undefined ? undefined : Math.round(n);
}
