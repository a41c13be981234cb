/**
 * A node is Ready and registered on its INTERNAL address: K3s picks the default route's address unless
 * `node-ip` is set, and then pod traffic, NFS and Kepler's node label all follow the wrong network
 * while the node still looks healthy. So the InternalIP the node registered with is compared with the
 * inventory's `internal_ip`.
 */
import { k3sKindOf, k3sUnit } from "../facts/k3s.js";
import type { NodeSpec } from "../inventory/types.js";
import { fail, pass, type Verdict } from "./check.js";
import type { KubeNode } from "../cluster/kube-objects.js";

const internalIps = (n: KubeNode) =>
  (n.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);

export function checkNodeReady(nodes: KubeNode[], want: NodeSpec, k3sVersion: string): Verdict {
  const unit = k3sUnit(k3sKindOf(want.role));
  const node = nodes.find((n) => n.metadata.name === want.name);
  if (!node) {
    // K3s names a node after its host name; a node found by address says which name it has instead.
    const byIp = nodes.find((n) => internalIps(n).includes(want.internalIp));
    if (byIp) {
      return fail(
        `no Kubernetes node named ${want.name}; the node at ${want.internalIp} registered as ${byIp.metadata.name}`,
        `make the inventory name match the host name (K3s uses the host name): rename the node to ${byIp.metadata.name} in the inventory, or set the host name of ${want.name}`,
      );
    }
    return fail(
      `not registered with the K3s server (registered: ${nodes.map((n) => n.metadata.name).join(", ") || "none"})`,
      `check the agent on ${want.name}: \`systemctl status ${unit}\` and \`journalctl -u ${unit} -n 50\`; then \`powerstack up\``,
    );
  }
  const ips = internalIps(node);
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  const problems: string[] = [];
  if (ready?.status !== "True") {
    problems.push(
      `not Ready (${ready ? `${ready.status}${ready.reason ? `, ${ready.reason}` : ""}${ready.message ? `: ${ready.message}` : ""}` : "no Ready condition"})`,
    );
  }
  if (!ips.includes(want.internalIp)) {
    problems.push(
      `registered on InternalIP ${ips.join(", ") || "(none)"}, not the inventory's internal_ip ${want.internalIp}`,
    );
  }
  if (problems.length > 0) {
    const ipFix = `set node-ip: ${want.internalIp} in /etc/rancher/k3s/config.yaml on ${want.name} (\`powerstack up\` writes it and restarts ${unit})`;
    return fail(
      problems.join("; "),
      !ips.includes(want.internalIp)
        ? ipFix
        : `read why on ${want.name}: \`journalctl -u ${unit} -n 50\`; \`kubectl describe node ${want.name}\` on the control node`,
    );
  }
  const version = node.status?.nodeInfo?.kubeletVersion;
  const extra = [
    version && version !== k3sVersion ? `kubelet ${version}, inventory pins ${k3sVersion}` : version,
    node.spec?.unschedulable ? "cordoned" : undefined,
  ].filter(Boolean);
  return pass(`Ready on ${want.internalIp}${extra.length ? ` (${extra.join(", ")})` : ""}`);
}
