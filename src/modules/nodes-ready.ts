/**
 * Wait (bounded) until every inventory node is registered and Ready, asked of the K3s server itself.
 * A rerun on a healthy cluster probes once and does nothing.
 */
import { PowerstackError } from "../errors.js";
import { defineFact } from "../engine/fact.js";
import type { Module } from "../engine/types.js";
import { K3S_BIN, KUBECTL } from "../facts/k3s.js";
import type { Host } from "../transport/host.js";

export interface NodesReadyParams {
  nodes: string[];
  timeoutSec: number;
  pollSec?: number;
}

/** Node name -> why it is not Ready ("" when Ready). */
export type NodeReadiness = Map<string, string>;

const KUBECTL_NODES = `${KUBECTL} get nodes -o json`;

export function parseNodes(stdout: string): NodeReadiness {
  const out: NodeReadiness = new Map();
  let items: Array<{
    metadata: { name: string };
    status?: { conditions?: Array<{ type: string; status: string; reason?: string }> };
  }>;
  try {
    items = JSON.parse(stdout).items ?? [];
  } catch {
    return out;
  }
  for (const n of items) {
    const ready = n.status?.conditions?.find((c) => c.type === "Ready");
    out.set(
      n.metadata.name,
      ready?.status === "True" ? "" : `NotReady${ready?.reason ? `: ${ready.reason}` : ""}`,
    );
  }
  return out;
}

export function notReady(seen: NodeReadiness, wanted: string[]): string[] {
  return wanted
    .filter((n) => seen.get(n) !== "")
    .map((n) => (seen.has(n) ? `${n} (${seen.get(n)})` : `${n} (not registered)`));
}

/**
 * The cluster's nodes and their readiness. An API that does not answer (K3s starting, or not installed yet)
 * reads as no node Ready, with kubectl's reason: waiting is exactly what the module does about it.
 */
export const k8sNodes = defineFact<{ nodes: NodeReadiness; unanswered?: string }>({
  name: "k8s-nodes",
  command: () => `if [ -x ${K3S_BIN} ]; then ${KUBECTL_NODES}; else echo '@@absent'; fi`,
  parse(out) {
    if (out.stdout.trim() === "@@absent") return { nodes: new Map(), unanswered: "K3s is not installed" };
    if (out.code !== 0)
      return { nodes: new Map(), unanswered: out.stderr.trim().split("\n").at(-1) || `exit ${out.code}` };
    return { nodes: parseNodes(out.stdout) };
  },
});

async function observe(host: Host): Promise<NodeReadiness> {
  const r = await host.exec(KUBECTL_NODES, { timeoutSec: 30 });
  return r.code === 0 ? parseNodes(r.stdout) : new Map();
}

export type NodesReadyAction = { kind: "wait"; waiting: string[] };

export const nodesReady: Module<NodesReadyParams, { seen: { nodes: NodeReadiness } }, NodesReadyAction> = {
  name: "nodes-ready",
  reads: () => ({ seen: k8sNodes.of() }),
  plan({ seen }, p) {
    const waiting = notReady(seen.nodes, p.nodes);
    return waiting.length ? [{ kind: "wait", waiting }] : [];
  },
  describe: (a) => `wait for nodes Ready: ${a.waiting.join(", ")}`,
  touches: () => [k8sNodes],
  async apply({ host, progress }, _actions, p) {
    const deadline = Date.now() + p.timeoutSec * 1000;
    for (;;) {
      const waiting = notReady(await observe(host), p.nodes);
      progress?.(`${p.nodes.length - waiting.length} of ${p.nodes.length} nodes Ready`);
      if (waiting.length === 0) return;
      if (Date.now() > deadline) {
        throw new PowerstackError(
          `nodes not Ready after ${p.timeoutSec}s: ${waiting.join(", ")}`,
          undefined,
          "look at `journalctl -u k3s-agent` on those nodes (or `-u k3s` on the control node) and rerun `powerstack up`",
        );
      }
      await new Promise((r) => setTimeout(r, (p.pollSec ?? 5) * 1000));
    }
  },
};
