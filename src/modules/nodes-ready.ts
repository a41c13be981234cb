/**
 * Wait (bounded) until every inventory node is registered and Ready, asked of the K3s server itself.
 * A rerun on a healthy cluster probes once and does nothing.
 */
import { PowerstackError } from "../errors.js";
import type { ShellModule } from "../engine/types.js";
import type { Host } from "../transport/host.js";

export interface NodesReadyParams {
  nodes: string[];
  timeoutSec: number;
  pollSec?: number;
}

/** Node name -> why it is not Ready ("" when Ready). */
export type NodeReadiness = Map<string, string>;

const KUBECTL_NODES = "k3s kubectl get nodes -o json";

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

async function observe(host: Host): Promise<NodeReadiness> {
  const r = await host.exec(KUBECTL_NODES, { timeoutSec: 30 });
  return r.code === 0 ? parseNodes(r.stdout) : new Map();
}

export const nodesReady: ShellModule<NodesReadyParams, NodeReadiness> = {
  name: "nodes-ready",
  probe: () => ({ command: `${KUBECTL_NODES} 2>/dev/null`, parse: parseNodes }),
  plan(seen, p) {
    const waiting = notReady(seen, p.nodes);
    return waiting.length ? [{ summary: `wait for nodes Ready: ${waiting.join(", ")}` }] : [];
  },
  async apply({ host }, p) {
    const deadline = Date.now() + p.timeoutSec * 1000;
    for (;;) {
      const waiting = notReady(await observe(host), p.nodes);
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
