/**
 * Tier-1 lab (docs LAB.md): N Debian nodes booted with `systemd-nspawn -b`, each in its own network
 * namespace behind a switch namespace, with sshd, a spare disk at /dev/vdb and apt through a relay to the
 * host's mirror.
 *
 *   labUp()            ctl 10.77.0.10, w1 .11, w2 .12
 *   labUp({nodes: 10}) n01 .. n10
 *   labDown()          removes everything, even what a crashed or killed run left
 *   restartNode(name)  boots a node again (after a reboot inside it made nspawn exit), keeping its files
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostMirror } from "./apt-sources.js";
import { ensureBase } from "./base.js";
import {
  DEFAULT_NAMES,
  FIRST_NODE_HOST,
  LOCK_DIR,
  NSPAWN_RUNTIME,
  NSPAWN_RUNTIME_MARK,
  RUN_DIR,
  nodeDir,
  nodeIp,
} from "./config.js";
import { LabError, run, sleep, stderrLogger, type Logger } from "./exec.js";
import {
  KEY_FILE,
  LAB_JSON,
  SSH_CONFIG,
  labInfoOf,
  writeInventory,
  writeKnownHosts,
  writeLabJson,
  writeSshConfig,
} from "./files.js";
import { addGuardRoute, createNodeNet, createSwitch } from "./net.js";
import { STANDIN_SYSCTLS, bootNode, logTail, prepareNode, resetStandins } from "./node.js";
import { cmdline, pidAlive, pidMatches, startTime, terminate, withLock } from "./proc.js";
import { planRelays, startRelays } from "./relay.js";
import { StateFile, readState, type LabState, type NodeRecord } from "./state.js";
import { isMounted, teardown } from "./teardown.js";
import type { LabInfo, LabNode } from "./types.js";

export type { LabInfo, LabNode } from "./types.js";

export interface LabUpOptions {
  /** Number of nodes, named n01, n02, ... (default: the three nodes ctl, w1, w2). */
  nodes?: number;
  /** Explicit node names (the first is the control node in the inventory). */
  names?: string[];
  log?: Logger;
  /** Seconds to wait for each node's sshd (default 120). */
  bootTimeoutSec?: number;
  /**
   * Mark this process as the lab's user until labDown (vitest's globalSetup does): a labUp elsewhere
   * waits for it instead of replacing the lab under its tests.
   */
  hold?: boolean;
  /** Seconds to wait for a lab held by another live process (default 0: fail at once). */
  waitSec?: number;
  /** Replace the lab even if another live process holds it. */
  force?: boolean;
}

/** The live process holding the lab, other than this one. */
function holder(state: LabState | undefined): LabState["owner"] | undefined {
  const o = state?.owner;
  if (!o || o.pid === process.pid || !pidAlive(o.pid) || startTime(o.pid) !== o.startTime) return undefined;
  return o;
}

export function nodeNames(opts: Pick<LabUpOptions, "nodes" | "names"> = {}): string[] {
  let names: string[];
  if (opts.names && opts.names.length > 0) names = opts.names;
  else if (opts.nodes !== undefined) {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1)
      throw new LabError(`nodes must be a positive integer, not ${opts.nodes}`);
    const width = Math.max(2, String(opts.nodes).length);
    names = Array.from({ length: opts.nodes }, (_, i) => `n${String(i + 1).padStart(width, "0")}`);
  } else names = [...DEFAULT_NAMES];
  for (const n of names) {
    if (!/^[a-z][a-z0-9-]{0,12}$/.test(n))
      throw new LabError(
        `node name \`${n}\`: use 1-13 lowercase letters, digits or '-', starting with a letter`,
      );
  }
  if (new Set(names).size !== names.length) throw new LabError(`duplicate node names: ${names.join(", ")}`);
  if (names.length > 254 - FIRST_NODE_HOST)
    throw new LabError(`at most ${254 - FIRST_NODE_HOST} nodes fit in 10.77.0.0/24`);
  return names;
}

/** Commands the lab runs on the host, and the Debian package of each (see host-packages.txt). */
const HOST_COMMANDS: Record<string, string> = {
  debootstrap: "debootstrap",
  "systemd-nspawn": "systemd-container",
  socat: "socat",
  nc: "netcat-openbsd",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  ip: "iproute2",
  ss: "iproute2",
  losetup: "util-linux",
  mount: "mount",
  truncate: "coreutils",
};

/** Root, and the host commands: a clear message instead of a failure halfway through. */
export function checkHost(): void {
  if (process.getuid?.() !== 0)
    throw new LabError("the lab needs root (network namespaces, loop devices, mounts, systemd-nspawn)");
  const path = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
  const missing = Object.keys(HOST_COMMANDS).filter((c) => !path.some((d) => d && existsSync(`${d}/${c}`)));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((c) => HOST_COMMANDS[c]))].join(" ");
    throw new LabError(
      `missing on this host: ${missing.join(", ")}; install with: apt-get install ${pkgs} (all: test/lab/host-packages.txt)`,
    );
  }
  if (!existsSync("/sys/fs/cgroup/systemd") || !existsSync("/sys/fs/cgroup/unified")) {
    throw new LabError(
      "the lab expects the hybrid cgroup layout (/sys/fs/cgroup/systemd and /sys/fs/cgroup/unified) of this project's machines",
    );
  }
}

/** Bring up a fresh lab (removing any previous one first) and return how to reach it. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const log = opts.log ?? stderrLogger;
  checkHost();
  const names = nodeNames(opts);
  const base = await ensureBase(log);
  const deadline = Date.now() + (opts.waitSec ?? 0) * 1000;
  let told = false;
  for (;;) {
    type Outcome = { info: LabInfo } | { busy: NonNullable<LabState["owner"]> };
    const result = await withLock<Outcome>(LOCK_DIR, "lab up", async () => {
      const stale = readState();
      const busy = opts.force ? undefined : holder(stale);
      if (busy) return { busy };
      return { info: await replaceLab(stale, names, base, log, opts) };
    });
    if ("info" in result) return result.info;
    const { pid, what } = result.busy;
    if (Date.now() > deadline) {
      throw new LabError(
        `the lab is in use by pid ${pid} (${what}); wait for it to finish, or take it over with --force (its tests will fail)`,
      );
    }
    if (!told) log(`the lab is in use by pid ${pid} (${what}); waiting for it`);
    told = true;
    await sleep(2_000);
  }
}

async function replaceLab(
  stale: LabState | undefined,
  names: string[],
  base: string,
  log: Logger,
  opts: LabUpOptions,
): Promise<LabInfo> {
  const t0 = Date.now();
  if (stale || existsSync(RUN_DIR)) {
    log("removing the previous lab");
    await teardown(stale, log);
  }
  const st = StateFile.fresh();
  st.state.base = base;
  if (opts.hold) {
    st.state.owner = {
      pid: process.pid,
      startTime: startTime(process.pid) ?? "",
      what: cmdline(process.pid).join(" ").slice(0, 200),
    };
  }
  try {
    const info = await bringUp(st, names, base, log, (opts.bootTimeoutSec ?? 120) * 1000);
    log(
      `lab up: ${names.length} node(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ssh -F ${SSH_CONFIG} ${names[0]}`,
    );
    return info;
  } catch (err) {
    if (process.env.POWERSTACK_LAB_KEEP === "1") {
      log(
        `lab up failed; POWERSTACK_LAB_KEEP=1 keeps it for inspection in ${RUN_DIR} (remove with lab down)`,
      );
    } else {
      await teardown(st.state, () => {}).catch((e: Error) => log(`cleanup after failure: ${e.message}`));
    }
    throw err;
  }
}

async function bringUp(
  st: StateFile,
  names: string[],
  base: string,
  log: Logger,
  bootTimeoutMs: number,
): Promise<LabInfo> {
  const mirror = hostMirror();
  const relays = planRelays(mirror.hosts);
  const sysctlDefaults = Object.fromEntries(STANDIN_SYSCTLS.map((p) => [p, readFileSync(p, "utf8").trim()]));
  const nodes: NodeRecord[] = names.map((name, index) => ({
    name,
    index,
    ip: nodeIp(index),
    dir: nodeDir(name),
    sysctlDefaults,
  }));
  st.state.nodes = nodes;
  st.save();

  await addGuardRoute(st);
  if (!isMounted(NSPAWN_RUNTIME)) {
    // nspawn's runtime directory on a private tmpfs: silences its "failed to propagate" warning.
    mkdirSync(NSPAWN_RUNTIME, { recursive: true });
    st.add({ kind: "mount", target: NSPAWN_RUNTIME });
    await run("mount", ["-t", "tmpfs", "-o", "mode=0755", "tmpfs", NSPAWN_RUNTIME]);
    writeFileSync(NSPAWN_RUNTIME_MARK, "");
  }
  mkdirSync(`${RUN_DIR}/logs`, { recursive: true });
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "powerstack-lab", "-f", KEY_FILE]);
  const authorizedKey = readFileSync(`${KEY_FILE}.pub`, "utf8");

  await createSwitch(st, [...new Set(relays.map((r) => r.ip))]);
  await startRelays(st, relays);

  const t1 = Date.now();
  const keys = new Map<string, string[]>();
  // Bounded parallelism: preparing is mostly ssh-keygen, mount and ip, cheap but not free.
  await forEach(nodes, 4, async (n) => {
    await createNodeNet(st, n.name, n.ip);
    keys.set(n.name, (await prepareNode(st, n, base, nodes, relays, authorizedKey)).hostKeys);
  });
  writeKnownHosts(keys, nodes);
  writeSshConfig(nodes);
  log(`prepared ${nodes.length} node(s) in ${((Date.now() - t1) / 1000).toFixed(1)} s; booting`);

  const t2 = Date.now();
  await Promise.all(nodes.map((n) => bootNode(st, n, SSH_CONFIG, bootTimeoutMs)));
  log(`booted ${nodes.length} node(s) in ${((Date.now() - t2) / 1000).toFixed(1)} s (sshd answering)`);

  writeInventory(nodes);
  const info = labInfoOf(st.state.createdAt, nodes);
  writeLabJson(info);
  st.state.complete = true;
  st.save();
  return info;
}

async function forEach<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Remove the lab: nodes shut down cleanly, then relays, mounts, loop devices, namespaces, cgroups, route,
 * files. Refuses a lab held by another live process (a running test suite) unless `force`.
 */
export async function labDown(opts: { log?: Logger; force?: boolean } = {}): Promise<void> {
  const log = opts.log ?? stderrLogger;
  await withLock(LOCK_DIR, "lab down", async () => {
    const state = readState();
    const busy = opts.force ? undefined : holder(state);
    if (busy)
      throw new LabError(
        `the lab is in use by pid ${busy.pid} (${busy.what}); take it down anyway with --force`,
      );
    await teardown(state, log);
  });
}

function currentState(): StateFile {
  const s = readState();
  if (!s || !s.complete)
    throw new LabError(`no lab is up (no complete ${RUN_DIR}/state.json); run labUp first`);
  return new StateFile(s);
}

/** Is this node's systemd-nspawn running? */
export function nodeRunning(name: string): boolean {
  const rec = currentState().node(name);
  return rec.nspawnPid !== undefined && pidAlive(rec.nspawnPid);
}

/** Wait until the node's nspawn has exited (after `systemctl reboot` or `poweroff` inside it). */
export async function waitNodeExit(name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (nodeRunning(name)) {
    if (Date.now() > deadline) throw new LabError(`node ${name} still running after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Boot a node again, keeping its root filesystem changes and its disk: after a reboot inside the node
 * (which makes nspawn exit), or to reboot it from outside (a running node is shut down cleanly first).
 * Stand-in sysctls go back to the host's values, as a kernel's would; sysctl.d drop-ins are applied
 * again at boot by systemd-sysctl. Resolves when sshd answers; returns the node with its new nspawn pid.
 */
export async function restartNode(
  name: string,
  opts: { timeoutSec?: number; log?: Logger } = {},
): Promise<LabNode> {
  const log = opts.log ?? (() => {});
  return withLock(LOCK_DIR, `restart ${name}`, async () => {
    const st = currentState();
    const rec = st.node(name);
    if (rec.nspawnPid !== undefined && pidMatches(rec.nspawnPid, `${rec.dir}/root`)) {
      log(`shutting down ${name}`);
      await terminate(rec.nspawnPid, 30_000);
    }
    st.remove((r) => r.kind === "process" && r.node === name);
    resetStandins(rec);
    const t = Date.now();
    try {
      await bootNode(st, rec, SSH_CONFIG, (opts.timeoutSec ?? 120) * 1000);
    } catch (err) {
      const msg = (err as Error).message;
      throw new LabError(
        `restarting ${name}: ${msg}${msg.includes("last lines of") ? "" : `\n${logTail(rec)}`}`,
      );
    }
    log(`${name} booted in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const info = labInfoOf(st.state.createdAt, st.state.nodes);
    writeLabJson(info);
    return info.nodes.find((n) => n.name === name)!;
  });
}

export interface NodeStatus {
  name: string;
  ip: string;
  running: boolean;
  nspawnPid?: number;
  loopDevice?: string;
}

/** What is up, from the state file (undefined when no lab is recorded). */
export function labStatus():
  { complete: boolean; createdAt: string; nodes: NodeStatus[]; relaysRunning: number } | undefined {
  const s = readState();
  if (!s) return undefined;
  return {
    complete: s.complete,
    createdAt: s.createdAt,
    nodes: s.nodes.map((n) => ({
      name: n.name,
      ip: n.ip,
      running: n.nspawnPid !== undefined && pidMatches(n.nspawnPid, `${n.dir}/root`),
      nspawnPid: n.nspawnPid,
      loopDevice: n.loopDevice,
    })),
    relaysRunning: s.resources.filter(
      (r) => r.kind === "process" && r.role === "relay" && pidMatches(r.pid, r.needle),
    ).length,
  };
}

/** The LabInfo of the running lab, if any. */
export function currentLabInfo(): LabInfo | undefined {
  return existsSync(LAB_JSON) ? (JSON.parse(readFileSync(LAB_JSON, "utf8")) as LabInfo) : undefined;
}
