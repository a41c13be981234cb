/**
 * The questions, in the order a person thinks about a cluster: the machines, how to reach them, the
 * cluster settings, then the secrets. Every question is skipped when the draft already holds a valid
 * answer (from `--from-ansible`, `--node` or `--set`), so an import only asks for what it lacks.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkAnswer, explain, fieldAt } from "../inventory/field-check.js";
import { IPV4 } from "../inventory/schema.js";
import { formatPath, type Path } from "../inventory/schema-walker.js";
import { MONITORING_SERVICES } from "../inventory/types.js";
import type { Asker } from "./asker.js";
import { getIn, nodes, setIn, type Draft } from "./draft.js";
import { askSecrets } from "./secret-questions.js";

/** Make sure the draft holds a valid value at `path`: keep a valid one, re-ask an invalid one, ask a missing one. */
export async function ensure(
  draft: Draft,
  asker: Asker,
  path: Path,
  message: string,
  def?: string,
): Promise<unknown> {
  const existing = getIn(draft.doc, path);
  if (existing !== undefined) {
    const r = checkAnswer(path, existing);
    if (r.ok) {
      setIn(draft.doc, path, r.value);
      return r.value;
    }
    const value = await asker.field({ path, message, retry: { error: explain(r), current: existing } });
    setIn(draft.doc, path, value);
    return value;
  }
  const mustEnter = draft.mustEnter.get(formatPath(path));
  if (draft.importedFrom && !mustEnter && !fieldAt(path)?.required) {
    // An import asks only for what it lacks: an optional key the source did not have keeps its default.
    const r = checkAnswer(path, def ?? defaultOf(path));
    setIn(draft.doc, path, r.ok ? r.value : undefined);
    return r.ok ? r.value : undefined;
  }
  const value = await asker.field({ path, message, default: def, mustEnter });
  setIn(draft.doc, path, value);
  return value;
}

export async function fillDraft(draft: Draft, asker: Asker): Promise<void> {
  await askNodes(draft, asker);
  await askSsh(draft, asker);
  await askCluster(draft, asker);
  await askSecrets(draft, asker);
}

async function askNodes(draft: Draft, asker: Asker): Promise<void> {
  const list = nodes(draft);
  if (list.length > 0) {
    for (let i = 0; i < list.length; i++) await askNode(draft, asker, i);
    return;
  }
  if (!asker.interactive) {
    asker.missing(
      "nodes",
      "pass --node name=node1,role=control,internal_ip=10.0.0.11,storage_disk=/dev/sdb (once per node)",
    );
    return;
  }
  asker.say("Nodes: one control node (K3s server, NFS server, data disk) and any number of workers.");
  do {
    list.push({});
    await askNode(draft, asker, list.length - 1);
  } while (await asker.confirm("Add another node?", false));
}

export async function askNode(draft: Draft, asker: Asker, i: number): Promise<void> {
  const at = (...rest: Path): Path => ["nodes", i, ...rest];
  const list = nodes(draft);
  const name = (await ensure(
    draft,
    asker,
    at("name"),
    `Node ${i + 1}: name (Kubernetes node name)`,
    `node${i + 1}`,
  )) as string;
  const controlElsewhere = list.some((n, j) => j !== i && n.role === "control");
  await ensure(draft, asker, at("role"), `${name}: role`, controlElsewhere ? "worker" : "control");
  const sshAddress = await ensure(
    draft,
    asker,
    at("ssh_address"),
    `${name}: SSH address (host name or IP; empty: the external IP)`,
  );
  const ipDefault = typeof sshAddress === "string" && IPV4.test(sshAddress) ? sshAddress : undefined;
  await ensure(
    draft,
    asker,
    at("internal_ip"),
    `${name}: internal IP (cluster network: K3s node-ip, NFS)`,
    ipDefault,
  );
  await ensure(
    draft,
    asker,
    at("external_ip"),
    `${name}: external IP (operator-facing: TLS SAN, NodePorts; empty: the internal IP)`,
  );
  if (list[i]!.role === "control" || list[i]!.storage_disk !== undefined) {
    await ensure(
      draft,
      asker,
      at("storage_disk"),
      `${name}: empty disk for the BTRFS data filesystem (prefer /dev/disk/by-id/...)`,
    );
  }

  const hasBmc =
    getIn(draft.doc, at("bmc")) !== undefined ||
    (!draft.importedFrom &&
      (await asker.confirm(`${name}: does it have a BMC reachable over Redfish?`, false)));
  if (!hasBmc) return;
  await ensure(draft, asker, at("bmc", "address"), `${name}: BMC address (https URL)`);
  const previousUser = list
    .slice(0, i)
    .map((n) => getIn(n, ["bmc", "username"]))
    .filter((u) => typeof u === "string")
    .pop() as string | undefined;
  await ensure(draft, asker, at("bmc", "username"), `${name}: BMC user name`, previousUser);
  await ensure(
    draft,
    asker,
    at("bmc", "insecure"),
    `${name}: accept the BMC's self-signed TLS certificate without checking it?`,
  );
}

async function askSsh(draft: Draft, asker: Asker): Promise<void> {
  await ensure(draft, asker, ["ssh", "user"], "SSH user on the nodes (root, or a user with sudo)");
  const key = ["id_ed25519", "id_ecdsa", "id_rsa"]
    .map((k) => join(homedir(), ".ssh", k))
    .find((k) => existsSync(k));
  await ensure(
    draft,
    asker,
    ["ssh", "key_file"],
    "SSH private key file (empty: use ssh-agent)",
    key?.replace(homedir(), "~"),
  );
}

async function askCluster(draft: Draft, asker: Asker): Promise<void> {
  await ensure(draft, asker, ["cluster", "k3s", "version"], "K3s version");
  await ensure(
    draft,
    asker,
    ["cluster", "data_path"],
    "Data path on the control node (BTRFS mount point and NFS export)",
  );
  const control = nodes(draft).find((n) => n.role === "control");
  const ip = typeof control?.internal_ip === "string" ? control.internal_ip : undefined;
  const netDefault = ip && IPV4.test(ip) ? `${ip.split(".").slice(0, 3).join(".")}.0/24` : undefined;
  await ensure(
    draft,
    asker,
    ["cluster", "nfs_network"],
    "Internal network allowed to mount the NFS share (CIDR)",
    netDefault,
  );

  await askGroup(
    draft,
    asker,
    MONITORING_SERVICES.map((s) => ["cluster", "node_ports", s]),
    "NodePorts",
    (s) => `NodePort for ${s}`,
  );
  await askGroup(
    draft,
    asker,
    MONITORING_SERVICES.map((s) => ["cluster", "volumes", s, "size"]),
    "volume sizes",
    (s) => `Persistent volume size for ${s}`,
  );
  await ensure(
    draft,
    asker,
    ["cluster", "kepler", "flavour"],
    "Kepler flavour (current: 0.10+; legacy: 0.7.x, as on the original research cluster)",
  );
  // Rancher is optional and not offered: its host name is asked once it is on (--set, or an import whose
  // `rancher_hostname` could not be read, which turns it on as the readable one would have).
  const rancherHost = ["cluster", "rancher", "hostname"];
  if (draft.mustEnter.has(formatPath(rancherHost))) setIn(draft.doc, ["cluster", "rancher", "enabled"], true);
  if (getIn(draft.doc, ["cluster", "rancher", "enabled"]) === true)
    await ensure(
      draft,
      asker,
      rancherHost,
      "Rancher host name (a DNS name resolving to a node's external IP, e.g. rancher.192.0.2.11.sslip.io)",
    );
}

/**
 * A group of keys that usually keep their defaults (NodePorts, volume sizes): one "keep the defaults?"
 * instead of three questions; values already given are kept (and checked) either way.
 */
async function askGroup(
  draft: Draft,
  asker: Asker,
  paths: Path[],
  what: string,
  message: (service: string) => string,
): Promise<void> {
  const open = paths.filter((p) => getIn(draft.doc, p) === undefined);
  if (open.length > 0 && asker.interactive && !draft.importedFrom) {
    const shown = open.map((p) => `${serviceOf(p)} ${String(defaultOf(p))}`).join(", ");
    if (await asker.confirm(`Use the default ${what} (${shown})?`, true)) {
      for (const p of open) setIn(draft.doc, p, defaultOf(p));
    }
  }
  for (const p of paths) await ensure(draft, asker, p, message(serviceOf(p)));
}

function serviceOf(p: Path): string {
  return String(
    p.find((s) => typeof s === "string" && (MONITORING_SERVICES as readonly string[]).includes(s)),
  );
}

function defaultOf(p: Path): unknown {
  const field = fieldAt(p);
  return field && "default" in field ? field.default : undefined;
}
