/**
 * The inventory file as a person will read and edit it: keys in the schema's order, and a comment on
 * each section saying what it does, built with the yaml Document API (so comments sit on the right keys
 * and values are quoted only where YAML needs it).
 */
import { Document, isMap, isScalar, isSeq, type Node } from "yaml";
import { inventorySchema } from "../inventory/schema.js";
import type { Field } from "../inventory/schema-walker.js";
import type { Raw } from "./draft.js";

/** Comments by key path; `*` stands for any list index. Only the first node gets the per-node comments. */
const COMMENTS: Record<string, string> = {
  vault_file:
    "The encrypted vault (ansible-vault format) holding the value of every `*_secret` key below,\nrelative to this file. Secrets never go in this file: view or change them with `powerstack vault edit`.",
  cluster: "Cluster-wide settings.",
  "cluster.nfs_network":
    "The internal network (CIDR) allowed to mount the NFS share; every node's internal_ip is inside it.",
  "cluster.data_path":
    "Where the BTRFS data filesystem is mounted on the control node, and the directory exported over NFS.",
  "cluster.k3s": "K3s, pinned to one release. The join token is the vault entry named by token_secret.",
  "cluster.volumes":
    "Persistent volumes on the NFS share, one directory per service: the data survives a cluster reinstall.",
  "cluster.node_ports":
    "NodePorts (30000-32767) where Prometheus, Grafana and Alertmanager answer on every node.",
  "cluster.monitoring":
    "kube-prometheus-stack; the Grafana admin password and the Slack webhook come from the vault.",
  "cluster.kepler": "Kepler energy exporter: `current` (0.10+) or `legacy` (0.7.x) chart line.",
  "cluster.rancher":
    "Rancher (with cert-manager) behind K3s' Traefik at https://<hostname>; its first `admin` password is\nthe vault entry named by bootstrap_password_secret.",
  ssh: "How powerstack reaches the nodes: SSH key auth (key_file, or ssh-agent when absent); sudo when user is not root.",
  nodes:
    "The machines. Exactly one `role: control` node (K3s server, NFS server, data disk); the others are workers.",
  "nodes.*.ssh_address": "Where SSH connects (default: external_ip).",
  "nodes.*.internal_ip": "Address on the internal network: K3s node-ip and NFS.",
  "nodes.*.external_ip":
    "Operator-facing address: TLS SAN of the API server, NodePorts (default: internal_ip).",
  "nodes.*.storage_disk": "Formatted as BTRFS only when empty: never the OS disk, never a disk holding data.",
  "nodes.*.bmc":
    "Redfish BMC: power readings for Kepler and `powerstack power`; its password is a vault entry.",
};

export function renderInventory(data: Raw, header: string[]): string {
  const ordered = order(inventorySchema, data) as Raw;
  const doc = new Document(ordered);
  doc.commentBefore = header.map((l) => ` ${l}`).join("\n");
  annotate(doc.contents as Node, [], new Set());
  return doc.toString({ lineWidth: 0 });
}

/** Keys in the order the schema lists them (which groups related keys), unknown keys after them. */
function order(field: Field | undefined, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => order(field?.kind === "list" ? field.of : undefined, v));
  if (value === null || typeof value !== "object") return value;
  const obj = value as Raw;
  const known = field?.kind === "object" ? Object.keys(field.fields) : [];
  const out: Raw = {};
  for (const k of [...known, ...Object.keys(obj).filter((k) => !known.includes(k))]) {
    if (obj[k] !== undefined) out[k] = order(field?.kind === "object" ? field.fields[k] : undefined, obj[k]);
  }
  return out;
}

function annotate(node: Node | null, path: string[], done: Set<string>): void {
  if (isSeq(node)) {
    node.items.forEach((item) => annotate(item as Node, [...path, "*"], done));
    return;
  }
  if (!isMap(node)) return;
  node.items.forEach((pair, index) => {
    if (!isScalar(pair.key)) return;
    const keyPath = [...path, String(pair.key.value)];
    const id = keyPath.join(".");
    const comment = COMMENTS[id];
    // The first key of a list item shares its line with `- `: a comment there would split the item.
    const firstInItem = index === 0 && path[path.length - 1] === "*";
    if (comment && !done.has(id) && !firstInItem) {
      pair.key.commentBefore = comment
        .split("\n")
        .map((l) => ` ${l}`)
        .join("\n");
      done.add(id);
    }
    if (path.length === 0 && index > 0) pair.key.spaceBefore = true;
    annotate(pair.value as Node, keyPath, done);
  });
}
