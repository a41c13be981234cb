/** Which zone a plot's time axis is labelled in, and the labels' format (never the host's local time). */
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { resolveTimeZone, ZonedClock } from "../../src/plot/time-zone.js";
import { plotFormat } from "../../src/plot/plot-file.js";
import { energyUnit } from "../../src/plot/chart.js";
import { textWidth } from "../../src/plot/text-width.js";

describe("resolveTimeZone", () => {
  it("takes the option first, then TZ when it names an IANA zone, else UTC", () => {
    expect(resolveTimeZone("Asia/Kolkata", "--tz", "Europe/Berlin")).toBe("Asia/Kolkata");
    expect(resolveTimeZone(undefined, "--tz", "Europe/Berlin")).toBe("Europe/Berlin");
    expect(resolveTimeZone(undefined, "--tz", undefined)).toBe("UTC");
    expect(resolveTimeZone(undefined, "--tz", "")).toBe("UTC");
    expect(resolveTimeZone(undefined, "--tz", "Etc/UTC")).toBe("UTC");
    // POSIX forms and nonsense in TZ are hints we cannot use: UTC, not a failure.
    expect(resolveTimeZone(undefined, "--tz", ":/etc/localtime")).toBe("UTC");
    expect(resolveTimeZone(undefined, "--tz", "Not/AZone")).toBe("UTC");
  });

  it("refuses an option that is not a zone, naming the flag and an example", () => {
    expect(() => resolveTimeZone("CEST+2", "--tz")).toThrow(InputError);
    expect(() => resolveTimeZone("Mars/Olympus", "--tz")).toThrow('--tz "Mars/Olympus" is not a time zone');
  });
});

describe("ZonedClock", () => {
  it("formats in the zone named, whatever the host's zone", () => {
    const ms = Date.UTC(2025, 2, 30, 0, 59, 59); // 1 s before Berlin's DST change
    expect(new ZonedClock("UTC").dateTime(ms)).toBe("2025-03-30 00:59:59");
    expect(new ZonedClock("Europe/Berlin").dateTime(ms)).toBe("2025-03-30 01:59:59");
    expect(new ZonedClock("Europe/Berlin").dateTime(ms + 1000)).toBe("2025-03-30 03:00:00");
    expect(new ZonedClock("Asia/Kolkata").hourMinute(ms)).toBe("06:29");
    expect(new ZonedClock("UTC").sameDay(ms, ms + 23 * 3600_000)).toBe(true);
    expect(new ZonedClock("Asia/Kolkata").sameDay(ms, ms + 23 * 3600_000)).toBe(false);
  });
});

describe("small pieces", () => {
  it("picks the format from the extension, case-insensitively, and names the flag otherwise", () => {
    expect(plotFormat("a/b.svg")).toBe("svg");
    expect(plotFormat("B.PNG")).toBe("png");
    expect(() => plotFormat("plot.jpeg")).toThrow("--plot plot.jpeg: the file name must end in .svg or .png");
    expect(() => plotFormat("plot", "experiment report --plot")).toThrow(/^experiment report --plot plot:/);
  });

  it("chooses an energy unit that keeps the bars' numbers short", () => {
    expect(energyUnit(950)).toEqual({ unit: "J", scale: 1 });
    expect(energyUnit(15_000)).toEqual({ unit: "kJ", scale: 1e3 });
    expect(energyUnit(3.6e6)).toEqual({ unit: "MJ", scale: 1e6 });
    expect(energyUnit(5e9)).toEqual({ unit: "GJ", scale: 1e9 });
  });

  it("measures text with DejaVu Sans' widths (wider than ECharts' Arial-like default)", () => {
    expect(textWidth("node-a", "12px sans-serif")).toBeCloseTo(
      (634 + 612 + 635 + 615 + 361 + 613) * 0.012,
      6,
    );
    expect(textWidth("W", "bold 10px DejaVu Sans")).toBeCloseTo(11.03, 6);
  });
});
