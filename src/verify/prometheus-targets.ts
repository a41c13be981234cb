/**
 * Prometheus scrapes Kepler and the scrapes succeed: `GET /api/v1/targets?state=active` (the one
 * Prometheus endpoint that says why a scrape fails, in `lastError`). Kepler's targets are those of a
 * scrape pool or job named after Kepler (its ServiceMonitor makes `serviceMonitor/<ns>/<name>/0`, the job
 * is its Service's name), or discovered in Kepler's namespace.
 */
import { ExitCode, PowerstackError } from "../errors.js";
import { fail, pass, type Verdict } from "./check.js";
import { httpGet } from "./http-get.js";

export interface ScrapeTarget {
  scrapePool?: string;
  scrapeUrl?: string;
  labels: Record<string, string>;
  health: "up" | "down" | "unknown" | string;
  lastError?: string;
}

export const PROMETHEUS_FIX =
  "check that Prometheus runs (`kubectl -n <monitoring namespace> get pods`), and the URL: pass --prometheus http://<host>:<port>, or fix the control node's external_ip / cluster.node_ports.prometheus in the inventory";

export async function fetchTargets(url: string, timeoutMs: number): Promise<ScrapeTarget[]> {
  const endpoint = `${url.replace(/\/+$/, "")}/api/v1/targets?state=active`;
  const res = await httpGet(endpoint, { timeoutMs, what: "Prometheus", fix: PROMETHEUS_FIX });
  let body: { status?: string; data?: { activeTargets?: ScrapeTarget[] }; error?: string };
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    throw new PowerstackError(
      `${endpoint} answered HTTP ${res.status} with something other than Prometheus' JSON (${res.text.trim().slice(0, 80) || "empty body"})`,
      ExitCode.unreachable,
      "this URL is not Prometheus' API: point --prometheus (or cluster.node_ports.prometheus) at Prometheus itself",
    );
  }
  if (body.status !== "success" || !Array.isArray(body.data?.activeTargets)) {
    throw new PowerstackError(
      `${endpoint} answered HTTP ${res.status}: ${body.error ?? "no target list"}`,
      ExitCode.failed,
      PROMETHEUS_FIX,
    );
  }
  return body.data.activeTargets;
}

export function isKeplerTarget(t: ScrapeTarget, keplerNamespace: string): boolean {
  return (
    /kepler/i.test(t.scrapePool ?? "") ||
    /kepler/i.test(t.labels.job ?? "") ||
    t.labels.namespace === keplerNamespace
  );
}

const describeTarget = (t: ScrapeTarget) => t.labels.instance ?? t.scrapeUrl ?? "(no instance)";

export function checkKeplerTargets(all: ScrapeTarget[], keplerNamespace: string): Verdict {
  // Sorted: Prometheus lists targets in no stable order, and a report should diff cleanly between runs.
  const kepler = all
    .filter((t) => isKeplerTarget(t, keplerNamespace))
    .sort((a, b) => describeTarget(a).localeCompare(describeTarget(b)));
  if (kepler.length === 0) {
    const jobs = [...new Set(all.map((t) => t.labels.job ?? t.scrapePool ?? "?"))];
    return fail(
      `Prometheus scrapes no Kepler target (${all.length} active target${all.length === 1 ? "" : "s"}${jobs.length ? `: ${jobs.join(", ")}` : ""})`,
      `Kepler's ServiceMonitor must be selected by Prometheus: it carries the \`release\` label of kube-prometheus-stack, or Prometheus selects all ServiceMonitors (serviceMonitorSelectorNilUsesHelmValues: false); \`kubectl -n ${keplerNamespace} get servicemonitor,pods\`; then \`powerstack up\``,
    );
  }
  const bad = kepler.filter((t) => t.health !== "up");
  if (bad.length > 0) {
    const what = bad.map((t) =>
      t.health === "unknown"
        ? `${describeTarget(t)} not scraped yet`
        : `${describeTarget(t)} ${t.health}${t.lastError ? `: ${t.lastError}` : ""}`,
    );
    return fail(
      `${bad.length} of ${kepler.length} Kepler targets not up: ${what.join("; ")}`,
      bad.every((t) => t.health === "unknown")
        ? "Prometheus has not scraped them yet: wait one scrape interval and rerun `powerstack verify`"
        : `check Kepler's pods (\`kubectl -n ${keplerNamespace} get pods -o wide\`) and that Prometheus can reach the target's port (the legacy line listens on the node's port 9102: a host firewall blocks it)`,
    );
  }
  return pass(`${kepler.length} up: ${kepler.map(describeTarget).join(", ")}`);
}
