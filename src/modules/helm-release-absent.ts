/**
 * A Helm release that must not exist: uninstalled (and waited for) when present, in any state (deployed,
 * failed, pending). No K3s or no Helm on the node means there is no release: nothing to do.
 *
 * `--wait` matters for teardown: Prometheus gets to shut down and write its data to the NFS volume before
 * anything later in the run (the K3s uninstall) kills what is left.
 */
import type { Module } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { HELM_BIN } from "./helm-binary.js";
import { K3S_BIN } from "./k3s.js";
import { clusterRead, clusterUnreadable, HELM, type ClusterRead } from "./cluster-read.js";

export interface HelmReleaseAbsentParams {
  release: string;
  namespace: string;
  /** How long Helm waits for the release's resources to be gone (default 300 s). */
  timeoutSec?: number;
}

const DEFAULT_TIMEOUT_SEC = 300;

/** Releases of that name in that namespace, in every state (`-a`); the filter is a regex, so anchored. */
export function helmListCommand(p: HelmReleaseAbsentParams): string {
  return `${HELM} list -n ${shq(p.namespace)} -a -q --filter ${shq(`^${escapeRegex(p.release)}$`)}`;
}

export function helmUninstallCommand(p: HelmReleaseAbsentParams): string {
  return `${HELM} uninstall ${shq(p.release)} -n ${shq(p.namespace)} --wait --timeout ${p.timeoutSec ?? DEFAULT_TIMEOUT_SEC}s`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export const helmReleaseAbsent: Module<
  HelmReleaseAbsentParams,
  { seen: ClusterRead },
  { kind: "uninstall" }
> = {
  name: "helm-release-absent",
  reads: (p) => ({ seen: clusterRead.of({ read: helmListCommand(p), needs: [K3S_BIN, HELM_BIN] }) }),
  plan({ seen }, p) {
    if (!seen.installed) return [];
    if (seen.code !== 0) throw clusterUnreadable(`listing Helm releases in namespace ${p.namespace}`, seen);
    // Helm may print warnings (a group-readable kubeconfig) among the names: look for the exact name.
    const present = seen.output.split("\n").some((l) => l.trim() === p.release);
    return present ? [{ kind: "uninstall" }] : [];
  },
  describe: (_a, p) => `helm uninstall ${p.release} -n ${p.namespace}`,
  // A change in the cluster may change any read of it (objects, releases, volumes, nodes, Grafana's login).
  touches: () => "all",
  async apply({ host }, _actions, p) {
    const timeout = p.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
    await run(host, helmUninstallCommand(p), { timeoutSec: timeout + 60 });
  },
};
