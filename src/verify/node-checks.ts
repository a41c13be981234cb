/**
 * The node checks as pure decisions over the facts read from the node (src/verify/node-facts.ts, the
 * same facts the modules plan from): no I/O here, so every verdict and message is tested from observed
 * values alone. A fact whose read failed is that check's finding: it fails, naming what the node said.
 */
import { FactReadError } from "../engine/fact.js";
import { describeError } from "../errors.js";
import type { NodeRole } from "../inventory/types.js";
import { fail, pass, type Verdict } from "./check.js";
import { parseExportfs, sameNetwork } from "./exportfs.js";
import { entriesFor, parseFstab } from "../facts/fstab.js";
import { k3sServiceOf, PARANOID_PATH, type NodeFacts, type Seen } from "./node-facts.js";

const UTIL_LINUX = "install util-linux (findmnt) on the node";

const firstLines = (text: string, n = 2) => text.trim().split("\n").slice(0, n).join(" / ");

/** What the node said when a read failed: its stderr (the last lines), else its output, else the exit. */
export function readError(err: unknown): { text: string; code?: number } {
  if (err instanceof FactReadError) {
    const o = err.out;
    const said = o.stderr.trim() ? o.stderr.trim().split("\n").slice(-2).join(" / ") : firstLines(o.stdout);
    return { text: said || `exit ${o.code}`, code: o.code };
  }
  return { text: describeError(err) };
}

const commandMissing = (e: { text: string; code?: number }) =>
  e.code === 127 || /command not found|not found$/m.test(e.text);

/**
 * A fact the read did not report (the read was cut short), or one whose read failed: the same failure
 * for every check. A command the node lacks gets `toolFix` (what provides it); any other failed read
 * (permission denied, an I/O error) gets `readFix`.
 */
function unread<T>(
  s: Seen<T> | undefined,
  what: string,
  toolFix: string,
  readFix = "fix the cause the node names (the read runs as root), then rerun `powerstack verify`",
): Verdict | undefined {
  if (!s)
    return fail(
      `the read did not report ${what} (cut short?)`,
      "rerun `powerstack verify`; the run log holds the raw output of the read",
    );
  if ("error" in s) {
    const e = readError(s.error);
    return fail(`cannot read ${what}: ${e.text}`, commandMissing(e) ? toolFix : readFix);
  }
  return undefined;
}

/** The value of a fact that `unread` found read. */
const valueOf = <T>(s: Seen<T> | undefined): T => (s as { value: T }).value;

export function checkParanoid(facts: NodeFacts, want: number, node: string): Verdict {
  const noPerf = "this kernel has no perf events: Kepler needs a kernel with them";
  const failed = unread(facts.paranoid, PARANOID_PATH, noPerf, noPerf);
  if (failed) return failed;
  const live = valueOf(facts.paranoid);
  if (live === undefined) return fail(`cannot read ${PARANOID_PATH}: No such file or directory`, noPerf);
  if (live !== String(want)) {
    return fail(
      `live value is ${live}, the inventory wants ${want} (cluster.perf_event_paranoid)`,
      `run \`powerstack up --only kernel --limit ${node}\` (sets it live and in /etc/sysctl.d/90-powerstack.conf)`,
    );
  }
  return pass(`${live} (inventory: ${want})`);
}

/** The fstab entries for the data path (an fstab that does not exist has none). */
const fstabFor = (facts: NodeFacts, dataPath: string) =>
  entriesFor(parseFstab(valueOf(facts.fstab)?.content ?? ""), dataPath);

export function checkDataMount(facts: NodeFacts, dataPath: string, node: string): Verdict {
  const failed =
    unread(facts.mount, `what is mounted at ${dataPath}`, UTIL_LINUX) ??
    unread(facts.fstab, "/etc/fstab", UTIL_LINUX);
  if (failed) return failed;
  const mounted = valueOf(facts.mount);
  const fstab = fstabFor(facts, dataPath);
  const storage = `run \`powerstack up --only storage\` (makes the BTRFS filesystem on the inventory's empty storage_disk and mounts it by UUID)`;

  if (!mounted?.source) {
    return fail(
      `nothing is mounted at ${dataPath}${fstab[0] ? ` (fstab has: ${fstab[0].line})` : ", and /etc/fstab has no entry for it"}`,
      fstab[0]
        ? `run \`mount ${dataPath}\` on ${node}; if it fails, \`dmesg | tail\` names the reason (a missing or changed disk)`
        : storage,
    );
  }
  const source = mounted.source.replace(/\[.*$/, "");
  if (mounted.fstype !== "btrfs") {
    return fail(
      `${dataPath} is ${mounted.fstype || "an unknown filesystem"} from ${source}, not BTRFS`,
      `check cluster.data_path and the control node's storage_disk in the inventory; unmount what is at ${dataPath}, then ${storage}`,
    );
  }
  // A UUID that cannot be read is this check's finding (blkid names why), not a read failure of all.
  const uuid = facts.uuid && "value" in facts.uuid ? facts.uuid.value : undefined;
  if (!uuid) {
    const why = facts.uuid && "error" in facts.uuid ? `: ${readError(facts.uuid.error).text}` : "";
    return fail(
      `BTRFS from ${source} is mounted at ${dataPath}, but its UUID cannot be read${why}`,
      `run \`blkid -p ${source}\` on ${node} to see why`,
    );
  }
  if (fstab.length === 0) {
    return fail(
      `BTRFS ${source} is mounted at ${dataPath}, but /etc/fstab has no entry for it: it will not be mounted after a reboot`,
      storage,
    );
  }
  if (fstab.length > 1) {
    return fail(
      `/etc/fstab has ${fstab.length} entries for ${dataPath}: ${fstab.map((e) => e.line).join(" | ")}`,
      `keep only \`UUID=${uuid} ${dataPath} btrfs ...\` in /etc/fstab on ${node}, or remove them all and ${storage}`,
    );
  }
  const entry = fstab[0]!;
  if (!/^UUID=/i.test(entry.spec)) {
    return fail(
      `/etc/fstab mounts ${dataPath} from ${entry.spec}, not by UUID: a disk renamed at boot would mount another device or none`,
      storage,
    );
  }
  const fstabUuid = entry.spec.replace(/^UUID=/i, "").replace(/^"(.*)"$/, "$1");
  if (fstabUuid.toLowerCase() !== uuid.toLowerCase()) {
    return fail(
      `/etc/fstab mounts UUID=${fstabUuid} at ${dataPath}, but the mounted filesystem (${source}) has UUID ${uuid}: after a reboot another filesystem, or none, would be there`,
      storage,
    );
  }
  if (entry.vfstype !== "btrfs") {
    return fail(`/etc/fstab gives ${dataPath} the type ${entry.vfstype}, not btrfs`, storage);
  }
  return pass(`BTRFS ${source} (UUID ${uuid}) at ${dataPath}; fstab by UUID`);
}

export function checkNfsExport(facts: NodeFacts, dataPath: string, network: string, node: string): Verdict {
  const server =
    "run `powerstack up --only nfs-server` (installs nfs-kernel-server, writes /etc/exports, runs `exportfs -ra`)";
  const s = facts.exports;
  const failed = unread(s, "the NFS export table (exportfs -v)", server);
  if (failed && s && "error" in s && !commandMissing(readError(s.error))) {
    return fail(
      `\`exportfs -v\` failed: ${readError(s.error).text}`,
      `check the NFS server on ${node}: \`systemctl status nfs-server\`; then ${server}`,
    );
  }
  if (failed) return failed;
  const all = parseExportfs(valueOf(s));
  const forPath = all.filter((e) => e.path.replace(/(.)\/+$/, "$1") === dataPath);
  if (forPath.length === 0) {
    const others = [...new Set(all.map((e) => e.path))];
    return fail(
      `${dataPath} is not exported (the export table holds ${others.length ? others.join(", ") : "nothing"})`,
      server,
    );
  }
  const match = forPath.find((e) => sameNetwork(e.client, network));
  if (!match) {
    return fail(
      `${dataPath} is exported to ${forPath.map((e) => e.client).join(", ")}, not to the cluster network ${network} (cluster.nfs_network)`,
      server,
    );
  }
  if (!match.options.includes("rw")) {
    return fail(
      `${dataPath} is exported to ${match.client} read-only: Prometheus and Grafana cannot write`,
      server,
    );
  }
  const shown = ["rw", "sync", "no_root_squash"].filter((o) => match.options.includes(o));
  return pass(`${dataPath} exported to ${match.client} (${shown.join(",")})`);
}

export function checkNfsClientMount(
  facts: NodeFacts,
  dataPath: string,
  expectedSource: string,
  node: string,
): Verdict {
  const failed =
    unread(facts.mount, `what is mounted at ${dataPath}`, UTIL_LINUX) ??
    unread(facts.fstab, "/etc/fstab", UTIL_LINUX);
  if (failed) return failed;
  const mounted = valueOf(facts.mount);
  const fstab = fstabFor(facts, dataPath);
  const client =
    "run `powerstack up --only nfs-client` (installs nfs-common, writes the fstab entry, mounts it)";
  const norm = (s: string) => s.replace(/(.)\/+$/, "$1");

  if (!mounted?.source) {
    return fail(
      `${dataPath} is not mounted${fstab[0] ? ` (fstab has: ${fstab[0].line})` : ", and /etc/fstab has no entry for it"}`,
      fstab[0]
        ? `run \`mount ${dataPath}\` on ${node}; if it hangs or fails, check the server's export (nfs.export) and \`showmount -e ${expectedSource.split(":")[0]}\``
        : client,
    );
  }
  if (!/^nfs4?$/.test(mounted.fstype)) {
    return fail(
      `${dataPath} is ${mounted.fstype || "an unknown filesystem"} from ${mounted.source}, not the NFS share ${expectedSource}`,
      `unmount ${dataPath} on ${node}, then ${client}`,
    );
  }
  if (norm(mounted.source) !== norm(expectedSource)) {
    return fail(
      `${dataPath} is mounted from ${mounted.source}, not from the control node's ${expectedSource}`,
      `unmount ${dataPath} on ${node}, then ${client}`,
    );
  }
  if (fstab.length === 0) {
    return fail(
      `${expectedSource} is mounted at ${dataPath}, but /etc/fstab has no entry for it: it will not be mounted after a reboot`,
      client,
    );
  }
  const entry = fstab.find((e) => norm(e.spec) === norm(expectedSource));
  if (!entry) {
    return fail(
      `/etc/fstab mounts ${fstab.map((e) => e.spec).join(", ")} at ${dataPath}, not ${expectedSource}`,
      client,
    );
  }
  if (!entry.options.includes("_netdev")) {
    return fail(
      `the fstab entry for ${dataPath} lacks _netdev (${entry.options.join(",")}): at boot it is mounted before the network is up, and fails`,
      client,
    );
  }
  return pass(`${mounted.fstype} ${mounted.source} at ${dataPath}; fstab: ${entry.options.join(",")}`);
}

export function checkK3sUnit(facts: NodeFacts, role: NodeRole, node: string): Verdict {
  const unit = k3sServiceOf(role);
  const systemd = "powerstack needs systemd on the node";
  const failed = unread(facts.unit, `the state of ${unit}`, systemd, systemd);
  if (failed) return failed;
  const u = valueOf(facts.unit);
  if (!u.active) return fail(`cannot read the state of ${unit}: systemctl reported no ActiveState`, systemd);
  if (u.loadState === "not-found") {
    return fail(`${unit} is not installed`, "run `powerstack up` (installs K3s at the inventory's version)");
  }
  if (u.active !== "active") {
    return fail(
      `${unit} is ${u.active}${u.sub ? ` (${u.sub})` : ""}`,
      `read why on ${node}: \`journalctl -u ${unit} -n 50\`; then \`systemctl restart ${unit}\` or \`powerstack up\``,
    );
  }
  return pass(`${unit} active (${u.sub || "running"})`);
}
