/**
 * One lab node: a copy-on-write root (overlay on the shared base), its identity (hostname, machine-id,
 * host keys, root's authorized key), a fresh sparse disk on a loop device (its /dev/vdb), the per-node
 * sysctl stand-in file, and the systemd-nspawn that boots it in its own network namespace and cgroup.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { DISK_IN_NODE, DISK_SIZE, PERF_SYSCTL, nodeNetns } from "./config.js";
import { LabError, out, run, waitFor } from "./exec.js";
import { pidAlive } from "./proc.js";
import type { Relay } from "./relay.js";
import { makeCgroups, spawnDetached } from "./spawn.js";
import type { NodeRecord, StateFile } from "./state.js";

/** Sysctls replaced inside nodes by a per-node regular file bound over the /proc/sys path. */
export const STANDIN_SYSCTLS = [PERF_SYSCTL];

/**
 * Where a stand-in lives inside the node. nspawn performs binds below /proc inside the container (after
 * /proc is mounted), so the source must be a path in the node's own filesystem: the overlay keeps one
 * per node, and the host resets it through the overlay mount.
 */
export const STANDIN_DIR = "/var/lib/powerstack-lab/sysctl";
export const standinPath = (path: string): string =>
  `${STANDIN_DIR}/${path.replace("/proc/sys/", "").replace(/\//g, ".")}`;
export const standinFile = (rec: NodeRecord, path: string): string => `${nodeRoot(rec)}${standinPath(path)}`;
export const nodeRoot = (rec: NodeRecord): string => `${rec.dir}/root`;
export const nodeLog = (rec: NodeRecord): string => `${rec.dir}/nspawn.log`;

function put(root: string, path: string, text: string, mode = 0o644): void {
  mkdirSync(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
  writeFileSync(`${root}${path}`, text, { mode });
  chmodSync(`${root}${path}`, mode);
}

export interface NodeIdentity {
  /** Public host keys, one `type base64` line each. */
  hostKeys: string[];
}

/** Everything on disk for a node; returns its public host keys. Records each resource before creating it. */
export async function prepareNode(
  st: StateFile,
  rec: NodeRecord,
  base: string,
  all: NodeRecord[],
  relays: Relay[],
  authorizedKey: string,
): Promise<NodeIdentity> {
  const root = nodeRoot(rec);
  for (const d of ["upper", "work", "root"]) mkdirSync(`${rec.dir}/${d}`, { recursive: true });
  st.add({ kind: "dir", path: rec.dir });
  st.add({ kind: "mount", target: root });
  await run("mount", [
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${base},upperdir=${rec.dir}/upper,workdir=${rec.dir}/work`,
    root,
  ]);

  put(root, "/etc/hostname", `${rec.name}\n`);
  const hosts = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    ...all.map((n) => `${n.ip}\t${n.name}`),
    "# apt relay to the host's Debian mirror (powerstack lab)",
    ...[...new Map(relays.map((r) => [r.host, r.ip])).entries()].map(([host, ip]) => `${ip}\t${host}`),
  ];
  put(root, "/etc/hosts", hosts.join("\n") + "\n");
  put(
    root,
    "/etc/machine-id",
    readFileSync("/proc/sys/kernel/random/uuid", "utf8").trim().replace(/-/g, "") + "\n",
    0o444,
  );
  put(root, "/root/.ssh/authorized_keys", authorizedKey.trim() + "\n", 0o600);
  chmodSync(`${root}/root/.ssh`, 0o700);

  const hostKeys: string[] = [];
  for (const type of ["ed25519", "ecdsa"]) {
    const key = `${root}/etc/ssh/ssh_host_${type}_key`;
    await run("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", `root@${rec.name}`, "-f", key]);
    const [kt, b64] = readFileSync(`${key}.pub`, "utf8").trim().split(/\s+/);
    hostKeys.push(`${kt} ${b64}`);
  }

  resetStandins(rec);

  // A fresh, empty, sparse disk on every labUp.
  const disk = `${rec.dir}/disk.img`;
  await run("truncate", ["-s", DISK_SIZE, disk]);
  const loop = (await out("losetup", ["-f", "--show", disk])).trim();
  st.add({ kind: "loop", device: loop, file: disk });
  rec.loopDevice = loop;
  st.save();
  return { hostKeys };
}

/** Back to the value the host had when the lab came up, as a fresh kernel would be after a reboot. */
export function resetStandins(rec: NodeRecord): void {
  mkdirSync(`${nodeRoot(rec)}${STANDIN_DIR}`, { recursive: true });
  for (const path of STANDIN_SYSCTLS)
    writeFileSync(standinFile(rec, path), `${rec.sysctlDefaults[path] ?? "0"}\n`);
}

function nspawnArgs(rec: NodeRecord): string[] {
  if (!rec.loopDevice) throw new LabError(`node ${rec.name} has no disk`);
  return [
    "systemd-nspawn",
    "--register=no",
    "--keep-unit",
    "-q",
    "-D",
    nodeRoot(rec),
    "-M",
    rec.name,
    `--network-namespace-path=/run/netns/${nodeNetns(rec.name)}`,
    "--private-network",
    `--bind=${rec.loopDevice}:${DISK_IN_NODE}`,
    "--bind=/dev/btrfs-control",
    ...STANDIN_SYSCTLS.map((p) => `--bind=${standinPath(p)}:${p}`),
    "--system-call-filter=open_by_handle_at",
    "--console=read-only",
    "--resolv-conf=off",
    "--timezone=off",
    "--link-journal=no",
    "-b",
  ];
}

/** Boot the node (its nspawn must not be running); resolves once sshd accepts the lab key. */
export async function bootNode(
  st: StateFile,
  rec: NodeRecord,
  sshConfig: string,
  timeoutMs = 90_000,
): Promise<void> {
  const cgroups = makeCgroups(st, rec.name);
  const log = nodeLog(rec);
  writeFileSync(log, `--- boot ${new Date().toISOString()}\n`, { flag: "a" });
  const pid = spawnDetached(nspawnArgs(rec), log, cgroups);
  st.add({ kind: "process", pid, needle: nodeRoot(rec), role: "nspawn", node: rec.name });
  rec.nspawnPid = pid;
  st.save();
  await waitForSsh(rec, sshConfig, timeoutMs);
}

export async function waitForSsh(rec: NodeRecord, sshConfig: string, timeoutMs: number): Promise<void> {
  const pid = rec.nspawnPid;
  await waitFor(
    `sshd on ${rec.name} (${rec.ip})`,
    timeoutMs,
    async () => {
      if (pid === undefined || !pidAlive(pid)) {
        throw new LabError(
          `systemd-nspawn for ${rec.name} exited; last lines of ${nodeLog(rec)}:\n${logTail(rec)}`,
        );
      }
      const r = await run("ssh", ["-F", sshConfig, rec.name, "true"], { allowFail: true, timeoutMs: 10_000 });
      return r.code === 0 ? true : undefined;
    },
    150,
  );
}

export function logTail(rec: NodeRecord, lines = 15): string {
  const f = nodeLog(rec);
  return existsSync(f) ? readFileSync(f, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)";
}
