/**
 * Kepler's node energy counters as Prometheus holds them now: non-zero, and from exactly one source per
 * node. Decided from one instant query of the configured line's node CPU counter (src/prometheus/
 * kepler-metrics.ts: `kepler_node_cpu_joules_total{zone="package"}` current, `kepler_node_package_joules_total`
 * legacy).
 *
 * - Non-zero: a Kepler that cannot read RAPL runs, is scraped, and exports zeros (kepler #1580, #959).
 *   Pod status and target health both look fine; only the numbers tell.
 * - One source: a "source" is the scrape target a series came from (its job, instance, namespace,
 *   service, pod), the node label aside. A node may legitimately have several series from one source
 *   (sockets, legacy `mode` dynamic/idle); two sources for one node (two Kepler releases, both lines
 *   deployed, one exporter scraped by two jobs) double every energy figure.
 */
import type { InstantSample, Labels } from "../prometheus/client.js";
import { selector, type KeplerLine } from "../prometheus/kepler-metrics.js";
import { fail, pass, type Verdict } from "./check.js";

const TARGET_LABELS = ["job", "instance", "namespace", "service", "pod", "endpoint"];

export function sourceOf(labels: Labels, nodeLabel: string): string {
  return TARGET_LABELS.filter((l) => l !== nodeLabel && labels[l] !== undefined)
    .map((l) => `${l}=${labels[l]}`)
    .join(",");
}

export interface NodeSeries {
  /** Source -> the sum of that source's counters (joules). */
  sources: Map<string, number>;
}

export function byNode(samples: InstantSample[], line: KeplerLine): Map<string, NodeSeries> {
  const out = new Map<string, NodeSeries>();
  for (const s of samples) {
    const node = s.labels[line.nodeLabel] ?? "(no node label)";
    const entry = out.get(node) ?? { sources: new Map<string, number>() };
    const src = sourceOf(s.labels, line.nodeLabel);
    entry.sources.set(src, (entry.sources.get(src) ?? 0) + s.value);
    out.set(node, entry);
  }
  return out;
}

const joules = (j: number) => (j >= 1e6 ? `${(j / 1e6).toFixed(1)} MJ` : `${Math.round(j)} J`);

export function checkNonZero(samples: InstantSample[], line: KeplerLine, flavourHint?: string): Verdict {
  const sel = selector(line.nodeCpu);
  if (samples.length === 0) {
    return fail(
      `no \`${sel}\` series in Prometheus now${flavourHint ? `; ${flavourHint}` : ""}`,
      flavourHint
        ? "set cluster.kepler.flavour in the inventory to the Kepler line that runs"
        : "Kepler is not scraped (see kepler.targets-up), or exports no RAPL package zone on these CPUs: check Kepler's log for the power meter it found",
    );
  }
  const nodes = byNode(samples, line);
  const zero = [...nodes.entries()]
    .filter(([, n]) => [...n.sources.values()].every((v) => v === 0))
    .map(([name]) => name);
  if (zero.length > 0) {
    return fail(
      `Kepler reports zero energy for ${zero.sort().join(", ")} (\`${sel}\` = 0): it runs but reads no energy`,
      "Kepler needs RAPL (/sys/class/powercap, root-only since Linux 5.10: the pod must be privileged) and kernel.perf_event_paranoid -1; its log names the power meter it found (`kubectl -n <kepler namespace> logs <pod on that node>`); see kepler issues #1580, #959",
    );
  }
  const shown = [...nodes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${joules(Math.max(...n.sources.values()))}`);
  return pass(`${shown.join(", ")} (${sel})`);
}

export function checkOneSource(
  samples: InstantSample[],
  line: KeplerLine,
  inventoryNodes: string[],
): Verdict {
  const nodes = byNode(samples, line);
  const absent = inventoryNodes.filter((name) => !nodes.has(name));
  const doubled = inventoryNodes.filter((name) => (nodes.get(name)?.sources.size ?? 0) > 1);
  const unknown = [...nodes.keys()].filter((n) => !inventoryNodes.includes(n)).sort();
  if (absent.length === 0 && doubled.length === 0) {
    return pass(
      `one source for each of ${inventoryNodes.length} node${inventoryNodes.length === 1 ? "" : "s"}`,
    );
  }
  const problems = [
    ...doubled.map((name) => {
      const sources = [...nodes.get(name)!.sources.keys()].sort();
      return `${name}: ${sources.length} sources (${sources.join(" | ")})`;
    }),
    ...absent.map((name) => `${name}: no series`),
  ];
  if (absent.length > 0 && unknown.length > 0)
    problems.push(`series also for ${unknown.join(", ")}, which the inventory does not name`);
  const fixes: string[] = [];
  if (doubled.length > 0)
    fixes.push(
      "two exporters report the same node (two Kepler releases, both Kepler lines, or one exporter scraped by two jobs): keep one (`helm list -A`, `kubectl get servicemonitor -A`); duplicates double every energy figure",
    );
  if (absent.length > 0)
    fixes.push(
      unknown.length > 0
        ? `the series' \`${line.nodeLabel}\` label must be the Kubernetes node name, which must be the inventory's name${line.flavour === "legacy" ? " (the legacy chart's ServiceMonitor relabels `instance` to the pod's node name: keep that relabeling)" : ""}`
        : "Kepler's DaemonSet must run on every node, the control node included (tolerations): `kubectl -n <kepler namespace> get pods -o wide`",
    );
  return fail(problems.join("; "), fixes.join("; and "));
}
