/**
 * The production Cluster: kubectl and helm run on the control node over SSH (the operator's machine
 * needs neither), arguments shell-quoted, manifests and values with secrets on stdin.
 */
import { HELM, KUBECTL } from "../facts/k3s.js";
import type { Inventory } from "../inventory/types.js";
import { shq } from "../transport/host.js";
import { connectNode, type SecretLookup } from "../transport/connect-node.js";
import type { Cluster, ClusterCallOptions, CommandResult } from "./cluster.js";

/** What connecting to the cluster needs from the command that asks (the CLI's RunContext is one). */
export interface ClusterAccess {
  inventory: Inventory;
  /** The vault, for the sudo password when the inventory names one. */
  secret: SecretLookup;
  /** The run log: every kubectl and helm command line is written to it (never a secret: those go on stdin). */
  log: { write(event: string, data: Record<string, unknown>): void };
}

export async function connectCluster(access: ClusterAccess): Promise<Cluster & { close(): Promise<void> }> {
  const inv = access.inventory;
  const control = inv.nodes.find((n) => n.role === "control")!;
  const host = await connectNode(control, inv, access.secret);
  const call =
    (tool: string) =>
    async (args: string[], opts: ClusterCallOptions = {}): Promise<CommandResult> => {
      const line = `${tool} ${args.map(shq).join(" ")}`;
      access.log.write("cluster", { command: line });
      return host.exec(line, { stdin: opts.stdin, timeoutSec: opts.timeoutSec });
    };
  return {
    // The same command lines the modules run on the node (src/facts/k3s.ts): one place for them.
    kubectl: call(KUBECTL),
    helm: call(HELM),
    close: () => host.close(),
  };
}
