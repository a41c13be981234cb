/**
 * BOUNDARY tests of the cluster checks (no Kubernetes can run here): the production Cluster
 * (`connectCluster`, kubectl over SSH on the control node) on a RecordingHost that answers recorded
 * `kubectl get ... -o json` documents. Checked: the exact commands sent, and the verdicts for a healthy
 * cluster, a node registered on the wrong InternalIP, a CrashLoopBackOff pod, an unbound claim, a claim on
 * local-path, and kubectl itself failing.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunContext } from "../../src/cli/context.js";
import { connectCluster } from "../../src/cluster/connect.js";
import type { ExecResult } from "../../src/transport/host.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { checkClusterGroup } from "../../src/verify/cluster-group.js";
import { RecordingHost } from "../support/recording-host.js";
import {
  NODES_BROKEN,
  NODES_HEALTHY,
  PODS_CRASHLOOP,
  PODS_HEALTHY,
  PVCS_HEALTHY,
  PVCS_UNBOUND,
  PVS,
  PVS_LOCAL_PATH,
  PVS_UNBOUND,
  testInventory,
} from "./fixtures.js";

const inventory = testInventory();

interface Docs {
  nodes?: string;
  pods?: string;
  pvc?: string;
  pv?: string;
}

/** The control node as a recorder answering kubectl's reads; connectCluster is the real one. */
function recordedCluster(docs: Docs, fault?: Partial<ExecResult>) {
  const answer = (doc: string | undefined) => () => fault ?? { stdout: doc ?? '{"items":[]}' };
  const host = new RecordingHost("ctl", [
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'nodes'/, answer(docs.nodes)],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'pods'/, answer(docs.pods)],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'pvc'/, answer(docs.pvc)],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'pv'/, answer(docs.pv)],
  ]);
  const connect = vi.spyOn(SshHost, "connect").mockResolvedValue(host as unknown as SshHost);
  const logged: Array<Record<string, unknown>> = [];
  const ctx = {
    inventory,
    secret: () => {
      throw new Error("no secret needed");
    },
    log: { write: (_e: string, d: Record<string, unknown>) => logged.push(d) },
  } as unknown as RunContext;
  return { host, connect, logged, cluster: () => connectCluster(ctx) };
}

const run = (docs: Docs, fault?: Partial<ExecResult>) => {
  const rec = recordedCluster(docs, fault);
  return { rec, results: checkClusterGroup(inventory, { cluster: rec.cluster, deadlineMs: 5_000 }) };
};

const row = (results: Awaited<ReturnType<typeof checkClusterGroup>>, name: string, scope: string) =>
  results.find((r) => r.name === name && r.scope === scope)!;

afterEach(() => vi.restoreAllMocks());

describe("cluster checks through kubectl on the control node (boundary)", () => {
  it("sends four reads over one connection to the control node, bounded, and passes a healthy cluster", async () => {
    const { rec, results } = run({ nodes: NODES_HEALTHY, pods: PODS_HEALTHY, pvc: PVCS_HEALTHY, pv: PVS });
    const r = await results;
    expect(rec.connect).toHaveBeenCalledTimes(1);
    expect(rec.connect.mock.calls[0]![0]).toEqual({ name: "ctl", address: "127.0.0.1", port: 22 });
    expect(rec.host.commands()).toEqual([
      "/usr/local/bin/k3s kubectl 'get' 'nodes' '-o' 'json'",
      "/usr/local/bin/k3s kubectl 'get' 'pods' '--all-namespaces' '-o' 'json'",
      "/usr/local/bin/k3s kubectl 'get' 'pvc' '-n' 'monitoring' '-o' 'json'",
      "/usr/local/bin/k3s kubectl 'get' 'pv' '-o' 'json'",
    ]);
    expect(rec.logged.map((l) => l.command)).toEqual(rec.host.commands());
    expect(r.map((x) => [x.name, x.scope, x.status, x.detail])).toEqual([
      ["k8s.api", "ctl", "pass", "kubectl on ctl answers: 3 nodes registered"],
      ["k8s.node-ready", "ctl", "pass", "Ready on 198.51.100.11 (v1.31.4+k3s1)"],
      ["k8s.node-ready", "w1", "pass", "Ready on 198.51.100.12 (v1.31.4+k3s1)"],
      ["k8s.node-ready", "w2", "pass", "Ready on 198.51.100.13 (v1.31.4+k3s1)"],
      ["k8s.pods", "kube-system", "pass", "4 pods: 2 running, 2 completed"],
      ["k8s.pods", "monitoring", "pass", "2 pods: 2 running"],
      ["k8s.pods", "kepler", "pass", "2 pods: 2 running"],
      [
        "k8s.pvcs-bound",
        "monitoring",
        "pass",
        "3 claims Bound to NFS: prometheus-kps-prometheus-db-prometheus-kps-prometheus-0 -> 198.51.100.11:/mnt/data/prometheus, kps-grafana -> 198.51.100.11:/mnt/data/grafana, alertmanager-kps-alertmanager-db-alertmanager-kps-alertmanager-0 -> 198.51.100.11:/mnt/data/alertmanager",
      ],
    ]);
  });

  it("fails a node registered on its external address and a node whose kubelet stopped", async () => {
    const r = await run({ nodes: NODES_BROKEN, pods: PODS_HEALTHY, pvc: PVCS_HEALTHY, pv: PVS }).results;
    const w1 = row(r, "k8s.node-ready", "w1");
    expect(w1).toMatchObject({
      status: "fail",
      detail: "registered on InternalIP 192.0.2.12, not the inventory's internal_ip 198.51.100.12",
    });
    expect(w1.fix).toBe(
      "set node-ip: 198.51.100.12 in /etc/rancher/k3s/config.yaml on w1 (`powerstack up` writes it and restarts k3s-agent)",
    );
    const w2 = row(r, "k8s.node-ready", "w2");
    expect(w2.detail).toBe("not Ready (Unknown, NodeStatusUnknown: Kubelet stopped posting node status.)");
    expect(w2.fix).toContain("journalctl -u k3s-agent -n 50");
    expect(row(r, "k8s.node-ready", "ctl").status).toBe("pass");
  });

  it("lists a CrashLoopBackOff pod (phase Running) with its restarts and node, and how to look at it", async () => {
    const r = await run({ nodes: NODES_HEALTHY, pods: PODS_CRASHLOOP, pvc: PVCS_HEALTHY, pv: PVS }).results;
    const kepler = row(r, "k8s.pods", "kepler");
    expect(kepler).toMatchObject({
      status: "fail",
      detail: "1 of 2 not running: kepler-8m2zt (CrashLoopBackOff, 7 restarts on ctl)",
      fix: "on the control node: `kubectl -n kepler describe pod kepler-8m2zt` and `kubectl -n kepler logs kepler-8m2zt --all-containers --previous`",
    });
    // The superseded helm-install failure in kube-system is not a fault.
    expect(row(r, "k8s.pods", "kube-system").status).toBe("pass");
  });

  it("fails an unbound claim, and a claim bound to something other than the NFS share", async () => {
    const pending = await run({
      nodes: NODES_HEALTHY,
      pods: PODS_HEALTHY,
      pvc: PVCS_UNBOUND,
      pv: PVS_UNBOUND,
    }).results;
    const p = row(pending, "k8s.pvcs-bound", "monitoring");
    expect(p.status).toBe("fail");
    expect(p.detail).toBe(
      "alertmanager-kps-alertmanager-db-alertmanager-kps-alertmanager-0 is Pending (class powerstack-nfs, 10Gi)",
    );
    expect(p.fix).toContain(
      "compare `kubectl get pv` with `kubectl -n monitoring describe pvc alertmanager-kps-alertmanager-db-alertmanager-kps-alertmanager-0`",
    );

    const local = await run({
      nodes: NODES_HEALTHY,
      pods: PODS_HEALTHY,
      pvc: PVCS_HEALTHY,
      pv: PVS_LOCAL_PATH,
    }).results;
    const l = row(local, "k8s.pvcs-bound", "monitoring");
    expect(l.detail).toBe(
      "kps-grafana is bound to powerstack-grafana (hostPath /var/lib/rancher/k3s/storage/pvc-1_monitoring_kps-grafana), not to an NFS volume",
    );
    expect(l.fix).toContain("kubectl -n monitoring delete pvc kps-grafana");
  });

  it("fails empty namespaces and a monitoring stack without claims", async () => {
    const r = await run({ nodes: NODES_HEALTHY, pods: JSON.stringify({ items: [] }) }).results;
    expect(row(r, "k8s.pods", "kepler")).toMatchObject({
      status: "fail",
      detail: "no pods in namespace kepler",
      fix: "deploy Kepler with `powerstack up`",
    });
    expect(row(r, "k8s.pvcs-bound", "monitoring").detail).toBe(
      "no PersistentVolumeClaims in namespace monitoring",
    );
  });

  it("when kubectl cannot answer, says why once (k8s.api) and skips the checks that need it", async () => {
    const missing = await run({}, { code: 127, stderr: "sh: 1: k3s: not found" }).results;
    expect(missing[0]).toMatchObject({
      name: "k8s.api",
      status: "fail",
      detail: "`kubectl get nodes -o json` on ctl: K3s is not installed there (sh: 1: k3s: not found)",
      fix: "run `powerstack up` (installs the K3s server on the control node)",
    });
    expect(missing.slice(1).map((x) => x.status)).toEqual(Array(7).fill("skip")); // 3 nodes, 3 namespaces, the claims;
    expect(missing[1]!.detail).toBe("not checked: the Kubernetes API cannot be read (k8s.api)");

    const down = await run(
      {},
      {
        code: 1,
        stderr:
          "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
      },
    ).results;
    expect(down[0]!.detail).toContain("the K3s API server does not answer");
    expect(down[0]!.fix).toBe(
      "check the server on ctl: `systemctl status k3s` and `journalctl -u k3s -n 50`",
    );
    expect(down[0]!.unreachable).toBeUndefined();
  });

  it("a control node that cannot be reached over SSH makes k8s.api unreachable (exit code 3)", async () => {
    const { UnreachableError } = await import("../../src/transport/errors.js");
    vi.spyOn(SshHost, "connect").mockRejectedValue(
      new UnreachableError("ctl", "connection refused by root@127.0.0.1:22", "is sshd running?"),
    );
    const ctx = { inventory, secret: () => "", log: { write() {} } } as unknown as RunContext;
    const r = await checkClusterGroup(inventory, { cluster: () => connectCluster(ctx), deadlineMs: 5_000 });
    expect(r[0]).toMatchObject({
      name: "k8s.api",
      status: "fail",
      unreachable: true,
      detail: "ctl: connection refused by root@127.0.0.1:22",
      fix: "is sshd running?",
    });
  });
});
