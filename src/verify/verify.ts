/**
 * `powerstack verify`: every check of MISSION's list, independent groups in parallel (the nodes over SSH,
 * the cluster through kubectl, the BMCs, Prometheus, Grafana), each check bounded in time, results in
 * a fixed order whatever finishes first. Dependencies come in through VerifyDeps, so tests can give it
 * real peers (sshd, Prometheus, a Redfish BMC, an HTTP server) or recorders where none can run (K3s).
 */
import type { Cluster } from "../cluster/cluster.js";
import { forEachLimited } from "../engine/pool.js";
import type { Inventory, NodeSpec } from "../inventory/types.js";
import type { KeplerLine } from "../prometheus/kepler-metrics.js";
import type { RedfishClient } from "../redfish/client.js";
import type { NodeWithBmc } from "../redfish/from-inventory.js";
import type { Host } from "../transport/host.js";
import { checkBmcGroup } from "./bmc-group.js";
import { CHECKS, skip, type CheckResult } from "./check.js";
import { checkClusterGroup } from "./cluster-group.js";
import { runCheck } from "./deadline.js";
import { checkGrafanaLogin, type GrafanaLogin } from "./grafana-login.js";
import { nfsRoundTrip } from "./nfs-round-trip.js";
import { checkNodeGroup, type NodeGroup } from "./node-group.js";
import { prometheusChecks } from "./prometheus-checks.js";

export interface VerifyTiming {
  /** Connecting to one node over SSH (its retries included). */
  connectMs: number;
  /** The one read of a node's state. */
  readMs: number;
  roundTripMs: number;
  clusterMs: number;
  bmcMs: number;
  prometheusMs: number;
  grafanaMs: number;
}

export const DEFAULT_TIMING: Omit<VerifyTiming, "connectMs"> = {
  readMs: 45_000,
  roundTripMs: 60_000,
  clusterMs: 60_000,
  bmcMs: 60_000,
  prometheusMs: 30_000,
  grafanaMs: 15_000,
};

export interface VerifyDeps {
  inventory: Inventory;
  connect: (node: NodeSpec) => Promise<Host>;
  cluster: () => Promise<Cluster>;
  bmcClient: (node: NodeWithBmc) => RedfishClient;
  prometheus: { url: string; line: KeplerLine };
  grafana: GrafanaLogin;
  /** Nodes connected to at once. */
  forks: number;
  log?: (event: string, data: Record<string, unknown>) => void;
  timing?: Partial<VerifyTiming>;
}

export async function runVerify(deps: VerifyDeps): Promise<CheckResult[]> {
  const inv = deps.inventory;
  const timing: VerifyTiming = {
    // Every attempt may take the whole connect timeout, with backoff between attempts.
    connectMs: inv.ssh.connectRetries * (inv.ssh.connectTimeoutSec * 1000 + 4_000) + 5_000,
    ...DEFAULT_TIMING,
    ...deps.timing,
  };
  const groups: NodeGroup[] = [];
  try {
    const [nodeResults, clusterResults, bmcResults, promResults, grafanaResult] = await Promise.all([
      nodeChecks(deps, timing, groups),
      checkClusterGroup(inv, { cluster: deps.cluster, deadlineMs: timing.clusterMs }),
      checkBmcGroup(inv.nodes, deps.bmcClient, timing.bmcMs),
      prometheusChecks({
        url: deps.prometheus.url,
        line: deps.prometheus.line,
        keplerNamespace: inv.cluster.kepler.namespace,
        nodes: inv.nodes.map((n) => n.name),
        deadlineMs: timing.prometheusMs,
      }),
      runCheck(CHECKS.grafana, "grafana", timing.grafanaMs, "check Grafana's pod and NodePort", () =>
        checkGrafanaLogin(deps.grafana),
      ),
    ]);
    const results = [...nodeResults, ...clusterResults, ...bmcResults, ...promResults, grafanaResult];
    for (const r of results) deps.log?.("check", { ...r });
    return results;
  } finally {
    await Promise.allSettled(groups.map((g) => g.host?.close()));
  }
}

async function nodeChecks(
  deps: VerifyDeps,
  timing: VerifyTiming,
  groups: NodeGroup[],
): Promise<CheckResult[]> {
  const inv = deps.inventory;
  // At most `forks` nodes at once; groups land in `groups` as they finish, so their hosts get closed.
  await forEachLimited(inv.nodes, deps.forks, async (node) => {
    groups.push(
      await checkNodeGroup(inv, node, {
        connect: deps.connect,
        connectDeadlineMs: timing.connectMs,
        readDeadlineMs: timing.readMs,
        log: deps.log,
      }),
    );
  });
  const ordered = inv.nodes.map((n) => groups.find((g) => g.node === n)!);
  const roundTrip = await roundTripCheck(inv, ordered, timing);
  return [...ordered.flatMap((g) => g.results), roundTrip];
}

/**
 * Through the first worker that has the share mounted (others are reported by their nfs.client-mount).
 * A worker without the mount is never written to: its data path is then a plain directory of its own disk.
 */
async function roundTripCheck(
  inv: Inventory,
  groups: NodeGroup[],
  timing: VerifyTiming,
): Promise<CheckResult> {
  const control = groups.find((g) => g.node.role === "control")!;
  const workers = groups.filter((g) => g.node.role === "worker");
  const scope = control.node.name;
  const skipped = (why: string): CheckResult => ({ name: CHECKS.nfsRoundTrip, scope, ...skip(why) });
  if (workers.length === 0) return skipped("no workers in the inventory: nothing mounts the share");
  if (!control.host) return skipped(`not checked: ${control.node.name} is unreachable (${CHECKS.ssh})`);
  const mounted = workers.find((w) => {
    const m = w.facts?.mount && "value" in w.facts.mount ? w.facts.mount.value : undefined;
    return w.host && /^nfs4?$/.test(m?.fstype ?? "");
  });
  if (!mounted) {
    return skipped(
      `not checked: no worker has the NFS share mounted at ${inv.cluster.dataPath} (see ${CHECKS.nfsMount})`,
    );
  }
  return runCheck(
    CHECKS.nfsRoundTrip,
    `${mounted.node.name}->${control.node.name}`,
    timing.roundTripMs,
    `check the mount on ${mounted.node.name} and the export on ${control.node.name}`,
    () => nfsRoundTrip(mounted.host!, control.host!, inv.cluster.dataPath),
  );
}
