/**
 * Boundary tests (no Kubernetes exists here): the exact kubectl commands node-ops sends through the
 * Cluster boundary, and its errors for failing commands.
 */
import { describe, expect, it } from "vitest";
import { cordon, drain, isCordoned, NodeOpError, uncordon, waitReady } from "../../src/cluster/node-ops.js";
import { RecordingCluster } from "./helpers.js";

describe("node-ops at the Cluster boundary", () => {
  it("sends cordon, drain (bounded, DaemonSets ignored, emptyDir allowed, never --force), uncordon, wait Ready", async () => {
    const cluster = new RecordingCluster();
    await cordon(cluster, "node2");
    await drain(cluster, "node2", { timeoutSec: 120 });
    await waitReady(cluster, "node2", 600);
    await uncordon(cluster, "node2");
    expect(cluster.calls.map((c) => [c.args, c.opts?.timeoutSec])).toEqual([
      [["cordon", "node2"], 60],
      [["drain", "node2", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"], 150],
      [["wait", "--for=condition=Ready", "node/node2", "--timeout=600s"], 630],
      [["uncordon", "node2"], 60],
    ]);
    expect(cluster.calls.flatMap((c) => c.args)).not.toContain("--force");
  });

  it("reads spec.unschedulable to know whether a node is cordoned", async () => {
    const cordoned = new RecordingCluster(() => ({ stdout: "true" }));
    expect(await isCordoned(cordoned, "node2")).toBe(true);
    expect(cordoned.kubectlArgs).toEqual([["get", "node", "node2", "-o", "jsonpath={.spec.unschedulable}"]]);
    expect(await isCordoned(new RecordingCluster(() => ({ stdout: "" })), "node2")).toBe(false);
  });

  it("names the node, the command and the fix when kubectl fails", async () => {
    const cluster = new RecordingCluster(() => ({
      code: 1,
      stderr:
        "error: cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use --force to override): default/scratch",
    }));
    const err = await drain(cluster, "node2", { timeoutSec: 60 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeOpError);
    expect((err as NodeOpError).message).toBe(
      "node node2: `kubectl drain node2 --ignore-daemonsets --delete-emptydir-data --timeout=60s` failed: error: cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use --force to override): default/scratch",
    );
    expect((err as NodeOpError).fix).toContain("a pod without a controller");
  });

  it("explains a node name Kubernetes does not know", async () => {
    const cluster = new RecordingCluster(() => ({
      code: 1,
      stderr: 'Error from server (NotFound): nodes "node9" not found',
    }));
    const err = (await cordon(cluster, "node9").catch((e: unknown) => e)) as NodeOpError;
    expect(err.fix).toBe(
      "Kubernetes has no node named node9: the inventory's node name must match `kubectl get nodes`",
    );
  });
});
