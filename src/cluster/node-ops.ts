/**
 * Node lifecycle around a power cycle, as kubectl commands through the Cluster boundary: cordon, drain
 * (bounded), uncordon, wait for Ready, and whether a node is cordoned. Each failure names the node, the
 * command and the fix.
 */
import { PowerstackError } from "../errors.js";
import type { Cluster, CommandResult } from "./cluster.js";

export class NodeOpError extends PowerstackError {
  constructor(
    readonly node: string,
    readonly command: string,
    detail: string,
    fix: string,
  ) {
    super(`node ${node}: \`${command}\` failed: ${detail}`, 1, fix);
  }
}

export interface DrainOptions {
  /** kubectl's own bound on evictions; the SSH call gets a margin on top. */
  timeoutSec: number;
}

// Seconds the SSH call may outlast kubectl's own `--timeout`, so kubectl reports what it was waiting for.
const CALL_MARGIN_SEC = 30;

/** Flags of the drain: kept in one place so the plan printed by `--check` is exactly what runs. */
export function drainArgs(node: string, { timeoutSec }: DrainOptions): string[] {
  return [
    "drain",
    node,
    // DaemonSet pods (Kepler, node exporter, flannel) cannot be evicted and come back with the node.
    "--ignore-daemonsets",
    // emptyDir is scratch space by definition; without this flag any such pod blocks the drain.
    "--delete-emptydir-data",
    // No --force: a pod without a controller would be deleted for good; better to stop and say so.
    `--timeout=${timeoutSec}s`,
  ];
}

export function waitReadyArgs(node: string, timeoutSec: number): string[] {
  return ["wait", "--for=condition=Ready", `node/${node}`, `--timeout=${timeoutSec}s`];
}

export async function cordon(cluster: Cluster, node: string): Promise<void> {
  await run(
    cluster,
    node,
    ["cordon", node],
    "check that the node exists: `kubectl get nodes` on the control node",
  );
}

export async function uncordon(cluster: Cluster, node: string): Promise<void> {
  await run(
    cluster,
    node,
    ["uncordon", node],
    "check that the node exists: `kubectl get nodes` on the control node",
  );
}

export async function drain(cluster: Cluster, node: string, opts: DrainOptions): Promise<void> {
  await run(
    cluster,
    node,
    drainArgs(node, opts),
    "a pod could not be evicted: a PodDisruptionBudget that allows no disruption, or a pod without a controller (delete or move it yourself); kubectl's message above names it",
    opts.timeoutSec + CALL_MARGIN_SEC,
  );
}

export async function waitReady(cluster: Cluster, node: string, timeoutSec: number): Promise<void> {
  await run(
    cluster,
    node,
    waitReadyArgs(node, timeoutSec),
    `the node did not become Ready within ${timeoutSec} s: check that it booted (BMC console) and that k3s-agent is running on it (\`systemctl status k3s-agent\`)`,
    timeoutSec + CALL_MARGIN_SEC,
  );
}

/** True when the node is cordoned (`spec.unschedulable`). */
export async function isCordoned(cluster: Cluster, node: string): Promise<boolean> {
  const res = await run(
    cluster,
    node,
    ["get", "node", node, "-o", "jsonpath={.spec.unschedulable}"],
    "check that the node exists: `kubectl get nodes` on the control node",
  );
  return res.stdout.trim() === "true";
}

async function run(
  cluster: Cluster,
  node: string,
  args: string[],
  fix: string,
  timeoutSec = 60,
): Promise<CommandResult> {
  const res = await cluster.kubectl(args, { timeoutSec });
  if (res.code !== 0) {
    const why = (res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`)
      .split("\n")
      .slice(-3)
      .join(" / ");
    const notFound = /NotFound|not found/.test(res.stderr);
    throw new NodeOpError(
      node,
      `kubectl ${args.join(" ")}`,
      why,
      notFound
        ? `Kubernetes has no node named ${node}: the inventory's node name must match \`kubectl get nodes\``
        : fix,
    );
  }
  return res;
}
