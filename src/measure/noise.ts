/**
 * How much the idle cluster's power wanders, so a reader (and the gate) can tell a real increase from
 * chance: the step's idle baseline is cut into equal slices (each at least two scrapes long, so
 * increase() has two samples; at most six), each slice's cluster CPU energy is read with the same
 * increase() as every other figure, and the spread is the sample standard deviation of the slices'
 * average power. Over a step of S seconds that is ±(spread × S) joules: a deliberately cautious figure
 * (an average over S wanders less than single slices do), for a gate that should not cry wolf.
 *
 * Only the baseline itself is used, never the time before it: in a pipeline that is the previous
 * step's work, not idle. A baseline shorter than four scrapes therefore has no noise figure.
 */
import type { PrometheusClient } from "../prometheus/client.js";
import type { CounterSeries } from "../prometheus/kepler-metrics.js";
import { increaseBy } from "../prometheus/promql.js";
import { isoTime, type Window } from "../prometheus/window.js";

export interface IdleNoise {
  /** Spread (sample standard deviation) of the idle power across slices, W. */
  W: number;
  /** W × the step's run length: the ± a step's joules carry from idle wander alone. */
  J: number;
  /** Mean idle power over the baseline, W. */
  meanW: number;
  slices: number;
  /** The window the slices cover (ISO times): the idle baseline. */
  from: string;
  to: string;
}

const MAX_SLICES = 6;

export async function idleNoise(
  client: PrometheusClient,
  /** A named Kepler line, or detection: either way the cluster's priced CPU series. */
  line: { nodeCpu: CounterSeries },
  /** The step's idle baseline. */
  baseline: Window,
  runSeconds: number,
  scrapeIntervalMs: number,
): Promise<IdleNoise | null> {
  const lengthMs = baseline.toMs - baseline.fromMs;
  const fromMs = baseline.fromMs;
  const slices = Math.min(MAX_SLICES, Math.floor(lengthMs / (2 * scrapeIntervalMs)));
  if (slices < 2) return null;
  const sliceMs = lengthMs / slices;
  const powers = await Promise.all(
    Array.from({ length: slices }, async (_, i) => {
      const w = { fromMs: fromMs + i * sliceMs, toMs: fromMs + (i + 1) * sliceMs };
      const got = await client.instant(increaseBy(line.nodeCpu, [], w), w.toMs);
      // A slice without two samples (before Kepler's first scrape) has no figure, not a zero one.
      return got[0] === undefined ? undefined : got[0].value / (sliceMs / 1000);
    }),
  ).then((all) => all.filter((p): p is number => p !== undefined));
  if (powers.length < 2) return null;
  const n = powers.length;
  const meanW = powers.reduce((a, p) => a + p, 0) / n;
  const W = Math.sqrt(powers.reduce((a, p) => a + (p - meanW) ** 2, 0) / (n - 1));
  return { W, J: W * runSeconds, meanW, slices: n, from: isoTime(fromMs), to: isoTime(baseline.toMs) };
}
