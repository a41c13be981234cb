/**
 * /etc/rancher/k3s/config.yaml for one node, server or agent: the one place both roles (and `powerstack
 * render`) build it. Keys mirror K3s' flags (REFERENCE.md); the node registers under its inventory name
 * (`node-name`), which k3s-ready, Kepler's Redfish `nodes:` map and the legacy CSV all use: without it K3s
 * takes the host name, and an FQDN host name never matches.
 */
import type { Inventory, NodeSpec } from "../../src/inventory/types.js";
import { renderTemplate } from "../../src/templates/render.js";

export type K3sKind = "server" | "agent";

/** The repeatable flags, each written as ONE key holding a list (K3s keeps only the last of a repeated key). */
export interface K3sListFlags {
  "tls-san"?: string[];
  disable?: string[];
  "node-label"?: string[];
  "node-taint"?: string[];
  "kubelet-arg"?: string[];
}

export const serverUrl = (control: NodeSpec) => `https://${control.internalIp}:6443`;

export function k3sListFlags(kind: K3sKind, inventory: Inventory, node: NodeSpec): K3sListFlags {
  const { k3s } = inventory.cluster;
  const lists: K3sListFlags = {
    // Agents take agent flags only (k3s-ansible #342): tls-san and disable are server flags.
    ...(kind === "server"
      ? { "tls-san": [...new Set([node.externalIp, ...k3s.tlsSan])], disable: k3s.disable }
      : {}),
    "node-label": node.labels,
    "node-taint": node.taints,
    "kubelet-arg": k3s.kubeletArgs,
  };
  // An empty list says nothing: leave the key out rather than write `disable: []`.
  return Object.fromEntries(Object.entries(lists).filter(([, v]) => v.length > 0)) as K3sListFlags;
}

export function k3sConfig(
  kind: K3sKind,
  inventory: Inventory,
  node: NodeSpec,
  control: NodeSpec,
  token: string,
): string {
  return renderTemplate("k3s-config.yaml.hbs", {
    server: kind === "server",
    serverUrl: serverUrl(control),
    nodeName: node.name,
    internalIp: node.internalIp,
    externalIp: node.externalIp,
    token,
    flannelIface: node.flannelIface,
    lists: k3sListFlags(kind, inventory, node),
  });
}
