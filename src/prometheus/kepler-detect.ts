/**
 * Which Kepler line prices which node over a window. With a line named (`--kepler current|legacy`) that
 * line prices every node, and nodes that only have the other line's series are named in a note rather
 * than silently left out. Without one, the lines are detected from the node CPU series Prometheus holds
 * in the window, node by node: a cluster half-way through moving from the legacy line to the current one
 * (both DaemonSets, or nodes done one by one) is priced with each node's own line. A node with series of
 * both lines in the window is priced by one only (`prefer`: the inventory's `cluster.kepler.flavour`,
 * else the schema's default): both meter the same RAPL counters, so adding them would count its energy
 * twice.
 */
import type { PrometheusClient } from "./client.js";
import type { FlavourSource } from "./diagnose.js";
import {
  KEPLER_LINES,
  excludingNodes,
  isDetect,
  otherFlavour,
  type KeplerLine,
  type LineSetting,
} from "./kepler-metrics.js";
import { presence } from "./promql.js";
import type { Window } from "./window.js";

export interface LinePart {
  /** The line's series, restricted (see `excludingNodes`) when a node it also has is priced by the other. */
  line: KeplerLine;
  /** Nodes this line prices in the window (from its node CPU series). */
  nodes: string[];
}

export interface LinePlan {
  /** Zero parts: neither line has node series in the window; one: the usual case; two: both lines run. */
  parts: LinePart[];
  detected: boolean;
  /** What the reader should know: both lines at once, nodes left out by a named line. */
  notes: string[];
}

/** Nodes with a series of the line's node CPU figure in the window, sorted. */
export async function nodesWithLine(
  client: PrometheusClient,
  line: KeplerLine,
  w: Window,
): Promise<string[]> {
  const found = await client.instant(
    presence(line.nodeCpu.metric, line.nodeCpu.matchers, w, line.nodeLabel),
    w.toMs,
  );
  return found.map((s) => s.labels[line.nodeLabel] ?? "").sort();
}

export async function planLines(
  client: PrometheusClient,
  setting: LineSetting,
  w: Window,
  src: FlavourSource,
): Promise<LinePlan> {
  if (!isDetect(setting)) return namedLine(client, setting, w, src);

  const preferred = KEPLER_LINES[setting.prefer];
  const other = KEPLER_LINES[otherFlavour(setting.prefer)];
  const [mine, theirs] = await Promise.all([
    nodesWithLine(client, preferred, w),
    nodesWithLine(client, other, w),
  ]);
  const both = theirs.filter((n) => mine.includes(n));
  const otherOnly = theirs.filter((n) => !mine.includes(n));
  const parts: LinePart[] = [];
  if (mine.length) parts.push({ line: preferred, nodes: mine });
  if (otherOnly.length) parts.push({ line: excludingNodes(other, both), nodes: otherOnly });

  const notes: string[] = [];
  if (parts.length === 2) {
    notes.push(
      `both Kepler lines are in the window (a migration in progress?): ${parts
        .map((p) => `${p.line.flavour} on ${p.nodes.join(", ")}`)
        .join("; ")}; each node is priced with its own line`,
    );
  }
  if (both.length) {
    notes.push(
      `${both.join(", ")} ${both.length === 1 ? "has" : "have"} series of both Kepler lines in the window: priced with ${preferred.flavour} only ` +
        `(both meter the same RAPL counters; adding the ${other.flavour} figures would count the energy twice)`,
    );
  }
  return { parts, detected: true, notes };
}

/** A named line prices every node; nodes only the other line knows are reported, not priced. */
async function namedLine(
  client: PrometheusClient,
  line: KeplerLine,
  w: Window,
  src: FlavourSource,
): Promise<LinePlan> {
  const other = KEPLER_LINES[otherFlavour(line.flavour)];
  const [mine, theirs] = await Promise.all([nodesWithLine(client, line, w), nodesWithLine(client, other, w)]);
  const notes: string[] = [];
  const left = theirs.filter((n) => !mine.includes(n));
  // With nothing of the named line at all the energy query fails and diagnose.ts explains the mismatch.
  if (mine.length && left.length) {
    notes.push(
      `${left.join(", ")} ${left.length === 1 ? "has" : "have"} only ${other.flavour}-line Kepler series in the window and ${left.length === 1 ? "is" : "are"} not priced: ` +
        `--kepler ${line.flavour} names the ${line.flavour} line (leave it out to price each node with the line it has)`,
    );
  }
  return { parts: [{ line, nodes: mine }], detected: false, notes };
}
