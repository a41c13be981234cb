/**
 * The production Cluster: kubectl and helm run on the control node over SSH (the operator's machine
 * needs neither), arguments shell-quoted, manifests and values with secrets on stdin.
 */
import type { RunContext } from "../cli/context.js";
import { shq } from "../transport/host.js";
import { SshHost } from "../transport/ssh-host.js";
import type { Cluster, ClusterCallOptions, CommandResult } from "./cluster.js";

/** Where K3s writes the admin kubeconfig on the server. */
export const SERVER_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";

export async function connectCluster(ctx: RunContext): Promise<Cluster & { close(): Promise<void> }> {
  const inv = ctx.inventory;
  const control = inv.nodes.find((n) => n.role === "control")!;
  const becomePassword = inv.ssh.becomePasswordSecret ? ctx.secret(inv.ssh.becomePasswordSecret) : undefined;
  const host = await SshHost.connect(
    { name: control.name, address: control.sshAddress, port: control.sshPort },
    inv.ssh,
    { becomePassword },
  );
  const call =
    (tool: string) =>
    async (args: string[], opts: ClusterCallOptions = {}): Promise<CommandResult> => {
      const line = `${tool} ${args.map(shq).join(" ")}`;
      ctx.log.write("cluster", { command: line });
      return host.exec(line, { stdin: opts.stdin, timeoutSec: opts.timeoutSec });
    };
  return {
    kubectl: call("k3s kubectl"),
    helm: call(`KUBECONFIG=${SERVER_KUBECONFIG} helm`),
    close: () => host.close(),
  };
}
