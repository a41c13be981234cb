/**
 * The node checks as pure decisions over what the read script saw (src/verify/node-facts.ts): no I/O
 * here, so every verdict and message is tested from observed text alone.
 */
import type { NodeRole } from "../inventory/types.js";
import { fail, pass, type Verdict } from "./check.js";
import { parseExportfs, sameNetwork } from "./exportfs.js";
import { entriesFor, parseFstab } from "./fstab.js";
import { K3S_UNIT, PARANOID_PATH, parsePairs, type NodeFacts, type Section } from "./node-facts.js";

const UTIL_LINUX = "install util-linux (findmnt) on the node";

const firstLines = (text: string, n = 2) => text.trim().split("\n").slice(0, n).join(" / ");

/**
 * A section the script did not print (the read was cut short), or a command the node lacks (`fix` says
 * what provides it): the same failure for every check.
 */
function missing(s: Section | undefined, what: string, fix: string): Verdict | undefined {
  if (!s)
    return fail(
      `the read script did not report ${what} (cut short?)`,
      "rerun `powerstack verify`; the run log holds the raw output of the read",
    );
  if (s.code === 127 || /command not found|not found$/m.test(s.out.trim()))
    return fail(`cannot read ${what}: ${firstLines(s.out) || "command not found"}`, fix);
  return undefined;
}

export function checkParanoid(facts: NodeFacts, want: number, node: string): Verdict {
  const s = facts.paranoid;
  const absent = missing(
    s,
    "kernel.perf_event_paranoid",
    "this kernel has no perf events: Kepler needs a kernel with them",
  );
  if (absent) return absent;
  if (s!.code !== 0)
    return fail(
      `cannot read ${PARANOID_PATH}: ${firstLines(s!.out)}`,
      "this kernel has no perf events: Kepler needs a kernel with them",
    );
  const live = s!.out.trim();
  if (live !== String(want)) {
    return fail(
      `live value is ${live}, the inventory wants ${want} (cluster.perf_event_paranoid)`,
      `run \`powerstack up --only kernel --limit ${node}\` (sets it live and in /etc/sysctl.d/90-powerstack.conf)`,
    );
  }
  return pass(`${live} (inventory: ${want})`);
}

export function checkDataMount(facts: NodeFacts, dataPath: string, node: string): Verdict {
  const absent =
    missing(facts.mount, `what is mounted at ${dataPath}`, UTIL_LINUX) ??
    missing(facts.fstab, "/etc/fstab", UTIL_LINUX);
  if (absent) return absent;
  const mounted = parsePairs(facts.mount!.out.trim());
  const fstab = entriesFor(parseFstab(facts.fstab!.out), dataPath);
  const storage = `run \`powerstack up --only storage\` (makes the BTRFS filesystem on the inventory's empty storage_disk and mounts it by UUID)`;

  if (!mounted.SOURCE) {
    return fail(
      `nothing is mounted at ${dataPath}${fstab[0] ? ` (fstab has: ${fstab[0].line})` : ", and /etc/fstab has no entry for it"}`,
      fstab[0]
        ? `run \`mount ${dataPath}\` on ${node}; if it fails, \`dmesg | tail\` names the reason (a missing or changed disk)`
        : storage,
    );
  }
  const source = mounted.SOURCE.replace(/\[.*$/, "");
  if (mounted.FSTYPE !== "btrfs") {
    return fail(
      `${dataPath} is ${mounted.FSTYPE || "an unknown filesystem"} from ${source}, not BTRFS`,
      `check cluster.data_path and the control node's storage_disk in the inventory; unmount what is at ${dataPath}, then ${storage}`,
    );
  }
  const uuid = facts.uuid?.code === 0 ? facts.uuid.out.trim() : "";
  if (!uuid) {
    return fail(
      `BTRFS from ${source} is mounted at ${dataPath}, but its UUID cannot be read${facts.uuid?.out.trim() ? `: ${firstLines(facts.uuid.out)}` : ""}`,
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
  const absent = missing(facts.exports, "the NFS export table (exportfs -v)", server);
  if (absent) return absent;
  const s = facts.exports!;
  if (s.code !== 0) {
    return fail(
      `\`exportfs -v\` failed: ${firstLines(s.out) || `exit ${s.code}`}`,
      `check the NFS server on ${node}: \`systemctl status nfs-server\`; then ${server}`,
    );
  }
  const all = parseExportfs(s.out);
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
  const absent =
    missing(facts.mount, `what is mounted at ${dataPath}`, UTIL_LINUX) ??
    missing(facts.fstab, "/etc/fstab", UTIL_LINUX);
  if (absent) return absent;
  const mounted = parsePairs(facts.mount!.out.trim());
  const fstab = entriesFor(parseFstab(facts.fstab!.out), dataPath);
  const client =
    "run `powerstack up --only nfs-client` (installs nfs-common, writes the fstab entry, mounts it)";
  const norm = (s: string) => s.replace(/(.)\/+$/, "$1");

  if (!mounted.SOURCE) {
    return fail(
      `${dataPath} is not mounted${fstab[0] ? ` (fstab has: ${fstab[0].line})` : ", and /etc/fstab has no entry for it"}`,
      fstab[0]
        ? `run \`mount ${dataPath}\` on ${node}; if it hangs or fails, check the server's export (nfs.export) and \`showmount -e ${expectedSource.split(":")[0]}\``
        : client,
    );
  }
  if (!/^nfs4?$/.test(mounted.FSTYPE ?? "")) {
    return fail(
      `${dataPath} is ${mounted.FSTYPE || "an unknown filesystem"} from ${mounted.SOURCE}, not the NFS share ${expectedSource}`,
      `unmount ${dataPath} on ${node}, then ${client}`,
    );
  }
  if (norm(mounted.SOURCE) !== norm(expectedSource)) {
    return fail(
      `${dataPath} is mounted from ${mounted.SOURCE}, not from the control node's ${expectedSource}`,
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
  return pass(`${mounted.FSTYPE} ${mounted.SOURCE} at ${dataPath}; fstab: ${entry.options.join(",")}`);
}

export function checkK3sUnit(facts: NodeFacts, role: NodeRole, node: string): Verdict {
  const unit = K3S_UNIT[role];
  const absent = missing(facts.unit, `the state of ${unit}`, "powerstack needs systemd on the node");
  if (absent) return absent;
  const s = facts.unit!;
  const props = Object.fromEntries(
    s.out
      .split("\n")
      .map((l) => /^(\w+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  ) as Record<string, string>;
  if (s.code !== 0 || !props.ActiveState) {
    return fail(
      `cannot read the state of ${unit}: ${firstLines(s.out) || `exit ${s.code}`}`,
      "powerstack needs systemd on the node",
    );
  }
  if (props.LoadState === "not-found") {
    return fail(`${unit} is not installed`, "run `powerstack up` (installs K3s at the inventory's version)");
  }
  if (props.ActiveState !== "active") {
    return fail(
      `${unit} is ${props.ActiveState}${props.SubState ? ` (${props.SubState})` : ""}`,
      `read why on ${node}: \`journalctl -u ${unit} -n 50\`; then \`systemctl restart ${unit}\` or \`powerstack up\``,
    );
  }
  return pass(`${unit} active (${props.SubState ?? "running"})`);
}
