/**
 * The Prometheus side of verify: Kepler's targets up, its energy counters non-zero, one source per node.
 * Two reads, in parallel: the target list, and one instant query of the node counter (shared by the two
 * series checks). Reuses the energy commands' Prometheus client and Kepler metric names.
 */
import { PrometheusClient, type InstantSample } from "../prometheus/client.js";
import { KEPLER_LINES, otherFlavour, selector, type KeplerLine } from "../prometheus/kepler-metrics.js";
import { CHECKS, skip, type CheckResult } from "./check.js";
import { runCheck } from "./deadline.js";
import { checkNonZero, checkOneSource } from "./kepler-series.js";
import { checkKeplerTargets, fetchTargets, PROMETHEUS_FIX } from "./prometheus-targets.js";

export interface PrometheusCheckOptions {
  url: string;
  line: KeplerLine;
  keplerNamespace: string;
  /** Inventory node names: each must have exactly one source. */
  nodes: string[];
  /** Bound of each check. */
  deadlineMs: number;
  /** Bound of one HTTP request. */
  requestTimeoutMs?: number;
  /** Evaluation time of the query (default now). */
  nowMs?: () => number;
}

export const PROMETHEUS_SCOPE = "prometheus";

export async function prometheusChecks(o: PrometheusCheckOptions): Promise<CheckResult[]> {
  const timeoutMs = o.requestTimeoutMs ?? Math.min(15_000, o.deadlineMs);
  const now = o.nowMs ?? Date.now;
  // Constructing the client validates the URL: a bad --prometheus fails every Prometheus check with the reason.
  const client = (() => {
    try {
      return new PrometheusClient(o.url, timeoutMs);
    } catch (err) {
      return err as Error;
    }
  })();
  const need = (): PrometheusClient => {
    if (client instanceof Error) throw client;
    return client;
  };
  const samples = (async (): Promise<{ samples: InstantSample[]; hint?: string }> => {
    const c = need();
    const at = now();
    const found = await c.instant(selector(o.line.nodeCpu), at);
    if (found.length > 0) return { samples: found };
    // Nothing of the configured line: is the other line what runs (a wrong cluster.kepler.flavour)?
    const other = KEPLER_LINES[otherFlavour(o.line.flavour)];
    const count = await c.instant(`count(${other.nodeCpu.metric})`, at);
    const hint =
      (count[0]?.value ?? 0) > 0
        ? `the ${other.flavour} line's \`${other.nodeCpu.metric}\` is there: cluster.kepler.flavour (${o.line.flavour}) does not match the Kepler that runs`
        : undefined;
    return { samples: [], hint };
  })();
  // Both series checks await it; a rejection is reported by each of them, never unhandled.
  samples.catch(() => undefined);

  return Promise.all([
    runCheck(CHECKS.keplerTargets, PROMETHEUS_SCOPE, o.deadlineMs, PROMETHEUS_FIX, async () => {
      if (client instanceof Error) throw client;
      return checkKeplerTargets(await fetchTargets(client.url, timeoutMs), o.keplerNamespace);
    }),
    runCheck(CHECKS.keplerNonZero, PROMETHEUS_SCOPE, o.deadlineMs, PROMETHEUS_FIX, async () => {
      const s = await samples;
      return checkNonZero(s.samples, o.line, s.hint);
    }),
    runCheck(CHECKS.keplerSources, PROMETHEUS_SCOPE, o.deadlineMs, PROMETHEUS_FIX, async () => {
      const s = await samples;
      // No series at all is one fault, reported once (by the non-zero check), not once per node.
      if (s.samples.length === 0) return skip(`no Kepler node series to count (see ${CHECKS.keplerNonZero})`);
      return checkOneSource(s.samples, o.line, o.nodes);
    }),
  ]);
}
