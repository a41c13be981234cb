/**
 * Time windows for energy questions: parsing `--since`, `--from`, `--to`, and turning a window into the
 * PromQL range and evaluation time that make `increase()` cover exactly that window.
 *
 * Everything is in milliseconds: Prometheus timestamps are milliseconds, and a window that is off by a
 * rounding of seconds would no longer be "the exact window".
 */
import { InputError } from "../errors.js";

export interface Window {
  fromMs: number;
  toMs: number;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Prometheus-style duration (`30s`, `1h30m`, `2d`; decimals allowed: `1.5h`) in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/.test(text)
    ? text.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)/g)
    : null;
  if (!parts) {
    throw new InputError(
      `${flag} "${text}" is not a duration`,
      `use a number with a unit (ms, s, m, h, d, w, y), e.g. ${flag} 30m or 1h30m`,
    );
  }
  let ms = 0;
  for (const p of parts) {
    const [, num, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(p)!;
    ms += Number(num) * UNIT_MS[unit!]!;
  }
  if (ms <= 0) throw new InputError(`${flag} "${text}" is zero`, `give a positive duration, e.g. ${flag} 1h`);
  return ms;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 (with a zone: a time without one is ambiguous) or unix seconds, as Prometheus' API takes. */
export function parseTime(text: string, flag: string, nowMs: number): number {
  if (text === "now") return nowMs;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (RFC3339.test(text)) {
    const ms = Date.parse(text.replace(" ", "T"));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new InputError(
    `${flag} "${text}" is not a time`,
    `use RFC 3339 with a zone (e.g. ${flag} 2025-03-01T12:00:00Z) or unix seconds (e.g. ${flag} 1740830400)`,
  );
}

export interface WindowFlags {
  since?: string;
  from?: string;
  to?: string;
}

/**
 * `--from T --to T` is the window; `--from` alone ends now; `--to` alone starts `--since` before it;
 * neither is the last `--since` (default 1h).
 */
export function resolveWindow(flags: WindowFlags, nowMs: number): Window {
  const toMs = flags.to !== undefined ? parseTime(flags.to, "--to", nowMs) : nowMs;
  const fromMs =
    flags.from !== undefined
      ? parseTime(flags.from, "--from", nowMs)
      : toMs - parseDuration(flags.since ?? "1h", "--since");
  if (fromMs >= toMs) {
    throw new InputError(
      `the window is empty: --from ${new Date(fromMs).toISOString()} is not before --to ${new Date(toMs).toISOString()}`,
      "give a --from earlier than --to",
    );
  }
  return { fromMs, toMs };
}

export function windowMs(w: Window): number {
  return w.toMs - w.fromMs;
}

export function windowSeconds(w: Window): number {
  return windowMs(w) / 1000;
}

/** The PromQL range of a window, in whole milliseconds (PromQL durations take no fractions). */
export function promRange(w: Window): string {
  return `${Math.round(windowMs(w))}ms`;
}

/** Evaluation time for Prometheus' API: unix seconds with millisecond precision. */
export function promTime(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2 h 5 min`, `90 s`, `1.5 s`: for people reading a window's length. */
export function humanDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${Number(s.toFixed(s < 10 ? 3 : 1))} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
}
