/**
 * Why did an energy query come back empty? Asked of Prometheus in turn, so the error names the missing
 * metric and the probable cause: the series is there but with under two samples in the window (too short
 * for increase()), the metric exists without the wanted zone, the other Kepler line is what is actually
 * there (a named line, `--kepler` or `cluster.kepler.flavour`, that does not match), the window predates
 * Kepler's data, Kepler is not scraped at all, or it runs with a metrics level that leaves this series out.
 * With the line detected (nothing names it) the questions are asked of both lines at once.
 */
import { ExitCode, PowerstackError } from "../errors.js";
import type { PrometheusClient } from "./client.js";
import {
  KEPLER_LINES,
  isDetect,
  otherFlavour,
  selector,
  type CounterSeries,
  type LineSetting,
} from "./kepler-metrics.js";
import { presence } from "./promql.js";
import { isoTime, type Window } from "./window.js";

export interface FlavourSource {
  /** Where the line came from: `--kepler current|legacy`, or detected from the series in Prometheus. */
  from: "flag" | "detect";
}

export async function explainMissing(
  client: PrometheusClient,
  line: LineSetting,
  series: CounterSeries,
  w: Window,
  nowMs: number,
  src: FlavourSource,
): Promise<PowerstackError> {
  const count = async (expr: string, at = w.toMs) =>
    (await client.instant(expr, at)).reduce((n, s) => n + s.value, 0);
  const where = `in Prometheus at ${client.url} between ${isoTime(w.fromMs)} and ${isoTime(w.toMs)}`;
  const what = isDetect(line)
    ? `no series of either Kepler line (${eitherLine(series === line.nodeCpu ? "nodeCpu" : "workload")}) ${where}`
    : `no \`${selector(series)}\` series ${where}`;

  if ((await count(presence(series.metric, series.matchers, w))) > 0) {
    return fail(
      `${what} with two samples or more: increase() needs two, and the window holds at most one per series ` +
        "(it is shorter than two scrape intervals, or Kepler's data starts or stops inside it)",
      "ask for a longer window, at least two of Kepler's scrape intervals (its ServiceMonitor interval)",
    );
  }

  // A detected line, nothing of either: only the questions that do not depend on which line runs.
  if (isDetect(line))
    return (
      (await afterTheWindow(client, [selector(series)], w, nowMs, `${what}; they exist`)) ??
      notDeployedOrNotExported(client, line, series, w, nowMs, what)
    );

  if (series.matchers && (await count(presence(series.metric, "", w))) > 0) {
    const zones = await client.instant(presence(series.metric, "", w, "zone"), w.toMs);
    const have = zones.map((z) => z.labels.zone ?? "(none)").join(", ");
    return fail(
      `${what}: \`${series.metric}\` is there, but not with ${series.matchers} (zones present: ${have || "none"})`,
      "this CPU or Kepler's configuration exposes no RAPL package domain on these nodes; check Kepler's logs for the power meter it found",
    );
  }

  const other = KEPLER_LINES[otherFlavour(line.flavour)];
  if ((await count(presence(other.nodeCpu.metric, "", w))) > 0) {
    return fail(
      `${what}, while the ${other.flavour} line's \`${other.nodeCpu.metric}\` is there: --kepler ${line.flavour} does not match the Kepler that runs`,
      `pass --kepler ${other.flavour}, or leave --kepler out to have the line detected`,
    );
  }

  return (
    (await afterTheWindow(
      client,
      [selector(line.nodeCpu), selector(series)],
      w,
      nowMs,
      `${what}; it exists`,
    )) ?? notDeployedOrNotExported(client, line, series, w, nowMs, what)
  );
}

/**
 * The series exist after the window (looked up in the index, cheap at any age): the window predates
 * Kepler's first sample, or its data is past Prometheus' retention. Undefined when one of them does not.
 */
async function afterTheWindow(
  client: PrometheusClient,
  selectors: string[],
  w: Window,
  nowMs: number,
  what: string,
): Promise<PowerstackError | undefined> {
  for (const s of selectors)
    if ((await client.series(s, w.toMs, Math.max(nowMs, w.toMs))).length === 0) return undefined;
  return fail(
    `${what} after the window: the window is before Kepler's first sample (Kepler started later) or older than Prometheus' retention`,
    "ask for a later window (--since shorter, or --from after Kepler was deployed)",
  );
}

async function notDeployedOrNotExported(
  client: PrometheusClient,
  line: LineSetting,
  series: CounterSeries,
  w: Window,
  nowMs: number,
  what: string,
): Promise<PowerstackError> {
  const kepler = await client.series(
    `{__name__=~"${KEPLER_LINES.current.nodeCpu.metric}|${KEPLER_LINES.legacy.nodeCpu.metric}"}`,
    w.fromMs,
    Math.max(nowMs, w.toMs),
  );
  if (kepler.length === 0) {
    return fail(
      `${what}, nor any Kepler node series since: Kepler is not deployed, or Prometheus does not scrape it`,
      "deploy Kepler with `powerstack up`, then check that its ServiceMonitor carries the `release` label of kube-prometheus-stack and that `powerstack verify` shows Kepler's targets up",
    );
  }

  return fail(
    `${what}, though Kepler's node series are there: this Kepler does not export it`,
    series === line.workload
      ? "Kepler's metrics level may leave out pods/containers (config `exporter.prometheus.metricsLevel`); enable them, or use --by node"
      : "check Kepler's metrics level and version against the inventory's `cluster.kepler`",
  );
}

/** `kepler_pod_cpu_joules_total{zone="package"}` (current) or `kepler_container_joules_total` (legacy). */
function eitherLine(figure: "nodeCpu" | "workload"): string {
  return (["current", "legacy"] as const)
    .map((f) => `\`${selector(KEPLER_LINES[f][figure])}\` (${f})`)
    .join(" or ");
}

function fail(message: string, fix: string): PowerstackError {
  return new PowerstackError(message, ExitCode.failed, fix);
}
