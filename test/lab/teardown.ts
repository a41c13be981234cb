/**
 * Remove a lab: everything the state file records, plus anything found by name that a crash may have left
 * unrecorded (processes whose command line names the run directory, mounts under it, loop devices backed
 * by files in it, the switch and node namespaces, the lab cgroups). Safe to run any number of times.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from "node:fs";
import {
  CGROUP_HIERARCHIES,
  CGROUP_NAME,
  NSPAWN_RUNTIME,
  NSPAWN_RUNTIME_MARK,
  RUN_DIR,
  SUBNET,
  SWITCH_NS,
  nodeNetns,
} from "./config.js";
import { LabError, run, sleep, type Logger } from "./exec.js";
import { findProcesses, pidAlive, pidMatches, terminate } from "./proc.js";
import type { LabState, Resource } from "./state.js";

type Of<K extends Resource["kind"]> = Extract<Resource, { kind: K }>;

/** Mount points (unescaped) from the host's mount table. */
export function mountPoints(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) =>
      l.split(" ")[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
    );
}

export function isMounted(target: string): boolean {
  return mountPoints().includes(target);
}

/** The file a loop device is backed by, or undefined when it is detached. */
export function loopBackingFile(device: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${device.replace("/dev/", "")}/loop/backing_file`, "utf8")
      .trim()
      .replace(/ \(deleted\)$/, "");
  } catch {
    return undefined;
  }
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** What a crash may have left without a record. */
function discover(): Resource[] {
  const found: Resource[] = [];
  const under = `${RUN_DIR}/`;
  for (const pid of findProcesses(under, ["systemd-nspawn"]))
    found.push({ kind: "process", pid, needle: under, role: "nspawn" });
  for (const pid of findProcesses(under, ["socat"]))
    found.push({ kind: "process", pid, needle: under, role: "relay" });
  for (const target of mountPoints()) if (target.startsWith(under)) found.push({ kind: "mount", target });
  if (existsSync("/sys/block")) {
    for (const dev of readdirSync("/sys/block")) {
      const file = dev.startsWith("loop") ? loopBackingFile(dev) : undefined;
      if (file?.startsWith(under)) found.push({ kind: "loop", device: `/dev/${dev}`, file });
    }
  }
  if (netnsExists(SWITCH_NS)) found.push({ kind: "netns", name: SWITCH_NS });
  if (existsSync(`${RUN_DIR}/nodes`)) {
    for (const name of readdirSync(`${RUN_DIR}/nodes`)) found.push({ kind: "netns", name: nodeNetns(name) });
  }
  for (const h of CGROUP_HIERARCHIES)
    found.push({ kind: "cgroup", path: `/sys/fs/cgroup/${h}/${CGROUP_NAME}` });
  if (existsSync(NSPAWN_RUNTIME_MARK)) found.push({ kind: "mount", target: NSPAWN_RUNTIME });
  found.push({ kind: "route", dest: SUBNET }); // the lab's own subnet: its guard goes with the lab
  return found;
}

/** Every cgroup directory below (and including) `root`, deepest first. */
function cgroupTree(root: string): string[] {
  if (!existsSync(root)) return [];
  const dirs: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(`${d}/${e.name}`);
    dirs.push(d);
  };
  walk(root);
  return dirs;
}

function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function teardown(state: LabState | undefined, log: Logger): Promise<void> {
  const all = [...(state?.resources ?? []), ...discover()];
  const of = <K extends Resource["kind"]>(kind: K): Of<K>[] => all.filter((r): r is Of<K> => r.kind === kind);
  const unique = <T>(xs: T[], key: (x: T) => string | number): T[] => [
    ...new Map(xs.map((x) => [key(x), x])).values(),
  ];
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };

  // 1. Nodes get a clean shutdown (nspawn turns SIGTERM into the container's poweroff); relays just stop.
  const procs = unique(of("process"), (p) => p.pid).filter((p) => pidMatches(p.pid, p.needle));
  await Promise.all(procs.map((p) => terminate(p.pid, p.role === "nspawn" ? 15_000 : 2_000)));

  // 2. Whatever still lives in the lab cgroups (a container whose nspawn was SIGKILLed) is killed.
  const cgroupRoots = unique(of("cgroup"), (c) => c.path).map((c) => c.path);
  const tree = [...new Set(cgroupRoots.flatMap(cgroupTree))];
  for (let round = 0; round < 50; round++) {
    const pids = [...new Set(tree.flatMap(cgroupPids))].filter((p) => p !== process.pid && pidAlive(p));
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await sleep(100);
  }

  // 3. Mounts, deepest first (lazily if something still holds one).
  const targets = unique(of("mount"), (m) => m.target)
    .map((m) => m.target)
    .sort((a, b) => b.length - a.length);
  for (const target of targets) {
    if (!isMounted(target)) continue;
    await attempt(`umount ${target}`, async () => {
      const r = await run("umount", [target], { allowFail: true });
      if (r.code !== 0) await run("umount", ["-l", target]);
    });
  }

  // 4. Loop devices, only if still backed by our file (device numbers are reused).
  for (const l of unique(of("loop"), (l) => l.device)) {
    if (loopBackingFile(l.device) === l.file)
      await attempt(`losetup -d ${l.device}`, () => run("losetup", ["-d", l.device]));
  }

  // 5. Namespaces (their veths and bridge go with them); nodes first, the switch last.
  const nets = unique(of("netns"), (n) => n.name).sort(
    (a, b) => Number(a.name === SWITCH_NS) - Number(b.name === SWITCH_NS),
  );
  for (const n of nets) {
    if (netnsExists(n.name))
      await attempt(`ip netns del ${n.name}`, () => run("ip", ["netns", "del", n.name]));
  }

  // 6. cgroups, deepest first; a just-emptied cgroup can be busy for a moment.
  for (const dir of tree) {
    await attempt(`rmdir ${dir}`, async () => {
      for (let i = 0; ; i++) {
        try {
          if (existsSync(dir)) rmdirSync(dir);
          return;
        } catch (err) {
          if (i >= 30) throw err;
          await sleep(100);
        }
      }
    });
  }

  // 7. The guard route, if this lab added it.
  for (const r of unique(of("route"), (r) => r.dest)) {
    await attempt(`route ${r.dest}`, async () => {
      const shown = await run("ip", ["route", "show", "type", "unreachable", r.dest], { allowFail: true });
      if (shown.stdout.trim()) await run("ip", ["route", "del", "unreachable", r.dest]);
    });
  }

  // 8. Files: only once nothing is mounted below the run directory (never delete through a mount).
  const stillMounted = mountPoints().filter((t) => t === RUN_DIR || t.startsWith(`${RUN_DIR}/`));
  if (stillMounted.length > 0) errors.push(`still mounted, ${RUN_DIR} kept: ${stillMounted.join(", ")}`);
  else if (existsSync(RUN_DIR) && statSync(RUN_DIR).isDirectory())
    rmSync(RUN_DIR, { recursive: true, force: true });

  for (const m of unique(of("mount"), (m) => m.target)) {
    if (!m.target.startsWith(`${RUN_DIR}/`) && isMounted(m.target)) errors.push(`still mounted: ${m.target}`);
  }
  if (errors.length > 0) throw new LabError(`lab teardown left something behind:\n  ${errors.join("\n  ")}`);
  log("lab removed");
}
