/**
 * The time zone a plot's time axis is labelled in: the `--tz`-style option when given, else `TZ` when it
 * names an IANA zone, else UTC. The axis name says which (`time (UTC)`), so a plot read weeks later
 * elsewhere is not misread. Formatting goes through Intl with the zone named explicitly, never through the
 * host's local time, so the same input renders the same labels on any machine.
 */
import { InputError } from "../errors.js";

const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Etc/Zulu"]);

/**
 * The zone as the user spelled it (Intl would canonicalise `Asia/Kolkata` to ICU's `Asia/Calcutta`), or
 * `UTC` for any of UTC's aliases; undefined when Intl does not know it.
 */
function validZone(zone: string): string | undefined {
  try {
    const resolved = new Intl.DateTimeFormat("en-GB", { timeZone: zone }).resolvedOptions().timeZone;
    return UTC_NAMES.has(resolved) || UTC_NAMES.has(zone) ? "UTC" : zone;
  } catch {
    return undefined;
  }
}

/**
 * `explicit` (from an option) must be a zone: anything else is an InputError naming `flag`. `TZ` is only
 * a hint: POSIX forms (`EST5EDT`, `:/etc/localtime`) or nonsense fall back to UTC rather than failing.
 */
export function resolveTimeZone(explicit?: string, flag = "--tz", env = process.env.TZ): string {
  if (explicit !== undefined) {
    const zone = validZone(explicit.trim());
    if (!zone)
      throw new InputError(
        `${flag} "${explicit}" is not a time zone`,
        `give an IANA zone name, e.g. ${flag} UTC or ${flag} Europe/Berlin`,
      );
    return zone;
  }
  if (env && env.trim() !== "" && !env.startsWith(":")) return validZone(env.trim()) ?? "UTC";
  return "UTC";
}

type Part = "year" | "month" | "day" | "hour" | "minute" | "second";

/** Formats times in one zone as `YYYY-MM-DD HH:mm:ss` pieces (24 h, zero-padded, no locale surprises). */
export class ZonedClock {
  private readonly fmt: Intl.DateTimeFormat;

  constructor(readonly zone: string) {
    this.fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
  }

  private parts(ms: number): Record<Part, string> {
    const out = {} as Record<Part, string>;
    for (const p of this.fmt.formatToParts(new Date(ms)))
      if (p.type !== "literal") out[p.type as Part] = p.value;
    return out;
  }

  /** `2023-11-14 22:15:00` */
  dateTime(ms: number): string {
    const p = this.parts(ms);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  }

  /** `22:15:00` */
  time(ms: number): string {
    const p = this.parts(ms);
    return `${p.hour}:${p.minute}:${p.second}`;
  }

  /** `22:15` */
  hourMinute(ms: number): string {
    const p = this.parts(ms);
    return `${p.hour}:${p.minute}`;
  }

  /** `11-14 22:15` */
  dayHourMinute(ms: number): string {
    const p = this.parts(ms);
    return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
  }

  /** Same calendar day in this zone? */
  sameDay(a: number, b: number): boolean {
    const x = this.parts(a);
    const y = this.parts(b);
    return x.year === y.year && x.month === y.month && x.day === y.day;
  }
}
