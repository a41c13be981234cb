/**
 * Which Kepler series hold energy, per Kepler line. The names and labels are from Kepler's own metric
 * docs and exporter code, not guessed:
 *
 * - current (0.10+): `docs/user/metrics.md` of sustainable-computing-io/kepler and
 *   `internal/exporter/prometheus/collector/power_collector.go`: `kepler_node_cpu_joules_total{zone,path}`,
 *   `kepler_pod_cpu_joules_total{pod_id,pod_name,pod_namespace,state,zone}`,
 *   `kepler_container_cpu_joules_total{container_id,container_name,runtime,state,zone,pod_id}` (no namespace
 *   label, so namespaces and pods come from the pod series), all with the constant label `node_name`;
 *   platform power only as the gauge `kepler_platform_watts{source,node_name,bmc_id,chassis_id,power_control_id,...}`.
 * - legacy (0.7.x–0.9.x): `pkg/metrics/consts/conts.go`: node series `kepler_node_{package,dram,platform,...}_joules_total`
 *   labelled `package`, `instance` (the node name; the chart's ServiceMonitor also relabels the target's
 *   `instance` to `__meta_kubernetes_pod_node_name`), `mode` (`dynamic`/`idle`: summed, they are the total);
 *   workload series `kepler_container_joules_total{container_id,pod_name,container_name,container_namespace,mode}`,
 *   Kepler's all-components total per container; its node is the target's `instance`.
 *
 * Why `zone="package"` on the current line, and never a sum over zones: RAPL zones nest. `core` (PP0) and
 * `uncore` (PP1) are parts of `package`, and `psys` (where present) covers the package and more, so a sum
 * counts the same joules two or three times. `package` is the zone every RAPL CPU has (Intel since Sandy
 * Bridge, AMD since Zen), it is what Kepler attributes to pods, and on multi-socket servers Kepler already
 * aggregates the sockets' package zones into one (`path="aggregated-package"`). Summing over `path` within
 * `zone="package"` therefore adds sockets, never zones. `dram` is a separate domain and is shown beside it.
 */
import type { KeplerFlavour } from "../inventory/types.js";

export type Grouping = "node" | "namespace" | "pod";
export const GROUPINGS: readonly Grouping[] = ["node", "namespace", "pod"];

/** A counter of joules: the metric and the label matchers that pick the right series of it. */
export interface CounterSeries {
  metric: string;
  /** PromQL label matchers without braces, e.g. `zone="package"`; empty for none. */
  matchers: string;
  /** What the figure is, for people: `CPU package (RAPL)`. */
  describes: string;
}

export interface KeplerLine {
  flavour: KeplerFlavour;
  /** Label holding the node name, on node and workload series alike. */
  nodeLabel: string;
  namespaceLabel: string;
  podLabel: string;
  /** The node figure everything is sorted and priced by. */
  nodeCpu: CounterSeries;
  nodeDram: CounterSeries;
  /** Whole-server power from the BMC (Redfish) or ACPI: a counter (legacy) or a watts gauge (current). */
  nodePlatform:
    | (CounterSeries & { kind: "counter" })
    | { kind: "gauge"; metric: string; matchers?: string; describes: string };
  workload: CounterSeries;
}

export const KEPLER_LINES: Record<KeplerFlavour, KeplerLine> = {
  current: {
    flavour: "current",
    nodeLabel: "node_name",
    namespaceLabel: "pod_namespace",
    podLabel: "pod_name",
    nodeCpu: {
      metric: "kepler_node_cpu_joules_total",
      matchers: 'zone="package"',
      describes: "CPU package (RAPL zone package)",
    },
    nodeDram: {
      metric: "kepler_node_cpu_joules_total",
      matchers: 'zone="dram"',
      describes: "DRAM (RAPL zone dram)",
    },
    nodePlatform: {
      kind: "gauge",
      metric: "kepler_platform_watts",
      describes: "platform (BMC), integrated from watts",
    },
    // Summed over `state` (running/terminated): a pod's series moves to `state="terminated"` carrying its
    // final total, which increase() sees as flat, so nothing is counted twice.
    workload: {
      metric: "kepler_pod_cpu_joules_total",
      matchers: 'zone="package"',
      describes: "CPU package attributed to pods",
    },
  },
  legacy: {
    flavour: "legacy",
    nodeLabel: "instance",
    namespaceLabel: "container_namespace",
    podLabel: "pod_name",
    nodeCpu: {
      metric: "kepler_node_package_joules_total",
      matchers: "",
      describes: "CPU package (RAPL), dynamic + idle",
    },
    nodeDram: {
      metric: "kepler_node_dram_joules_total",
      matchers: "",
      describes: "DRAM (RAPL), dynamic + idle",
    },
    nodePlatform: {
      kind: "counter",
      metric: "kepler_node_platform_joules_total",
      matchers: "",
      describes: "platform (BMC/ACPI), dynamic + idle",
    },
    workload: {
      metric: "kepler_container_joules_total",
      matchers: "",
      describes: "all components attributed to containers, dynamic + idle",
    },
  },
};

export function selector(s: { metric: string; matchers?: string }): string {
  return s.matchers ? `${s.metric}{${s.matchers}}` : s.metric;
}

/**
 * What `energy` and `measure` read when nothing names the line (no `--kepler`, no `cluster.kepler.flavour`
 * in the inventory): whichever line Prometheus has, decided per node for each window (kepler-detect.ts).
 * Its series select the priced series of either line at once, so "is anything there?" (measure's
 * preflight, the idle-noise total) is one query: `zone=~"package|"` keeps the current line's package zone
 * and the legacy series, which carry no `zone` label (an absent label matches the empty string).
 */
export interface DetectLines {
  flavour: "detect";
  /** Prices a node that has series of both lines in the window (the schema's default flavour). */
  prefer: KeplerFlavour;
  nodeCpu: CounterSeries;
  workload: CounterSeries;
}

export const DETECT_LINES: DetectLines = {
  flavour: "detect",
  prefer: "current",
  nodeCpu: {
    metric: "",
    matchers: `__name__=~"${KEPLER_LINES.current.nodeCpu.metric}|${KEPLER_LINES.legacy.nodeCpu.metric}",zone=~"package|"`,
    describes: "CPU package (RAPL) of whichever Kepler line each node has",
  },
  workload: {
    metric: "",
    matchers: `__name__=~"${KEPLER_LINES.current.workload.metric}|${KEPLER_LINES.legacy.workload.metric}",zone=~"package|"`,
    describes: "energy attributed to workloads by whichever Kepler line each node has",
  },
};

/** One named line, or detection. */
export type LineSetting = KeplerLine | DetectLines;

export function isDetect(line: LineSetting): line is DetectLines {
  return line.flavour === "detect";
}

/** The series a grouping is priced by: node CPU for `node`, the workload series otherwise. */
export function primarySeries(line: LineSetting, by: Grouping): CounterSeries {
  return by === "node" ? line.nodeCpu : line.workload;
}

/**
 * The line with every series restricted to nodes other than `nodes` (those priced by the other line while
 * both run): a node's energy is then counted by exactly one line. The same line when `nodes` is empty.
 */
export function excludingNodes(line: KeplerLine, nodes: string[]): KeplerLine {
  if (nodes.length === 0) return line;
  const not = `${line.nodeLabel}!~"${nodes.map(promRegexLiteral).join("|")}"`;
  const add = (m: string | undefined) => (m ? `${m},${not}` : not);
  return {
    ...line,
    nodeCpu: { ...line.nodeCpu, matchers: add(line.nodeCpu.matchers) },
    nodeDram: { ...line.nodeDram, matchers: add(line.nodeDram.matchers) },
    nodePlatform: { ...line.nodePlatform, matchers: add(line.nodePlatform.matchers) },
    workload: { ...line.workload, matchers: add(line.workload.matchers) },
  };
}

/** A node name as a literal inside a PromQL regex string: regex metacharacters escaped, then `\` for the string. */
function promRegexLiteral(text: string): string {
  return text
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"');
}

/** The labels a grouping's rows are keyed by, outermost first. */
export function groupLabels(line: KeplerLine, by: Grouping): string[] {
  switch (by) {
    case "node":
      return [line.nodeLabel];
    case "namespace":
      return [line.namespaceLabel];
    case "pod":
      return [line.namespaceLabel, line.podLabel];
  }
}

export function otherFlavour(f: KeplerFlavour): KeplerFlavour {
  return f === "current" ? "legacy" : "current";
}
