/**
 * The tier-2 lab (docs LAB-VM.md): two QEMU VMs with the Debian kernel under TCG, `ctl` and `worker`, each
 * 1 vCPU / 1 GiB with a qcow2 overlay on the cached image and a spare 1 GiB disk at /dev/vdb, SSH forwarded
 * from 127.0.0.1:<free port>, and a private lab link (10.88.0.0/24) over a loopback-only multicast socket
 * whose UDP port is picked per run. The guard route keeps lab addresses off the host's NIC.
 *
 *   vmUp()                 build (cached) + boot; each VM gets its own SSH host keys, written to a run
 *                          known_hosts file so that ssh and powerstack check host keys strictly
 *   vmReboot(names)        `systemctl reboot` NFS clients before their server, wait for new boot ids
 *   vmDown(runDir)         kill QEMU (pidfile, checked against the run dir), remove the route and run dir
 *
 * Crash-safe: state.json records every resource before it is made; a stale run (its owner died) is removed
 * by the next vmUp, or by `npx tsx test/lab/vm/cli.ts down`.
 */
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { LabError, run, sleep, stderrLogger, type Logger, type RunOptions, type RunResult } from "../exec.js";
import { cmdline, findProcesses, pidMatches, terminate } from "../proc.js";
import {
  LAB_NETMASK,
  LAB_SUBNET,
  MCAST_GROUP,
  RUN_ROOT,
  SPARE_DISK_SIZE,
  VM_CPUS,
  VM_MEMORY_MB,
  VMS,
  type VmSpec,
} from "./config.js";
import { ensureImage, type Image } from "./image.js";
import {
  readRunState,
  runDirs,
  runInUse,
  selfOwner,
  vmRunning,
  writeRunState,
  type VmRecord,
  type VmRunState,
} from "./state.js";
import type { VmInfo, VmNode } from "./vm-info.js";

export type { VmInfo, VmNode } from "./vm-info.js";

const QEMU = "qemu-system-x86_64";
const vmLog: Logger = (l) => stderrLogger(`vm: ${l}`);

// ---------------------------------------------------------------------------------------------- ssh

/** What an ssh call needs to know about a run (VmInfo has it all). */
type SshTarget = Pick<VmInfo, "sshConfigFile">;

export interface VmSshOptions extends RunOptions {
  /** Seconds before `timeout` kills ssh (an ssh opened while a guest shuts down can hang forever). */
  timeoutSec?: number;
  /** Extra ssh options (they win over the config file). */
  sshArgs?: string[];
}

/** Run a shell command as root on VM `name` with OpenSSH (strict host keys), wrapped in `timeout`. */
export function vmSsh(
  info: SshTarget,
  name: string,
  command: string,
  opts: VmSshOptions = {},
): Promise<RunResult> {
  const t = opts.timeoutSec ?? 300;
  return run(
    "timeout",
    ["-k", "5", String(t), "ssh", "-F", info.sshConfigFile, ...(opts.sshArgs ?? []), name, command],
    {
      timeoutMs: (t + 15) * 1000,
      ...opts,
    },
  );
}

/** The guest's boot id, or undefined while it cannot be reached. */
export async function bootId(
  info: SshTarget,
  name: string,
  sshArgs: string[] = [],
): Promise<string | undefined> {
  const r = await vmSsh(info, name, "cat /proc/sys/kernel/random/boot_id", {
    timeoutSec: 10,
    allowFail: true,
    sshArgs,
  });
  const id = r.stdout.trim();
  return r.code === 0 && /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
}

/**
 * Wait until VM `name` answers a real ssh command with a boot id other than `oldBootId` (the hostfwd port
 * accepts TCP even while the guest is down, so a port probe proves nothing). Fails at once if QEMU died.
 */
export async function waitBoot(
  info: SshTarget & Pick<VmInfo, "vms">,
  name: string,
  oldBootId: string | undefined,
  { timeoutSec = 300, sshArgs = [] }: { timeoutSec?: number; sshArgs?: string[] } = {},
): Promise<string> {
  const vm = info.vms.find((v) => v.name === name);
  const deadline = Date.now() + timeoutSec * 1000;
  for (;;) {
    const id = await bootId(info, name, sshArgs);
    if (id && id !== oldBootId) return id;
    if (vm && !pidMatches(vm.pid, vm.consoleLog)) {
      throw new LabError(
        `VM ${name}: QEMU (pid ${vm.pid}) exited while booting; console:\n${consoleTail(vm.consoleLog)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new LabError(
        `VM ${name}: no ssh with a new boot id after ${timeoutSec} s; console:\n${vm ? consoleTail(vm.consoleLog) : ""}`,
      );
    }
    await sleep(1000);
  }
}

export function consoleTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no console log)";
  }
}

const RESTARTING = "reboot: Restarting system";
function restartCount(consoleLog: string): number {
  try {
    return readFileSync(consoleLog, "latin1").split(RESTARTING).length - 1;
  } catch {
    return 0;
  }
}

/**
 * Reboot VMs with `systemctl reboot` and wait until each is back (new boot id). NFS clients (workers) go
 * first and the server only once they are down: a client whose server vanished hangs ~70 s in its NFS
 * unmount at shutdown (LAB-VM.md). Returns the seconds until all were reachable again.
 */
export async function vmReboot(info: VmInfo, names: string[], log: Logger = vmLog): Promise<number> {
  const vms = names.map((n) => {
    const v = info.vms.find((x) => x.name === n);
    if (!v) throw new LabError(`no VM named ${n}`);
    return v;
  });
  const order = [...vms.filter((v) => v.role !== "control"), ...vms.filter((v) => v.role === "control")];
  const before = new Map<string, string>();
  for (const v of order) {
    const id = await bootId(info, v.name);
    if (!id) throw new LabError(`VM ${v.name} is not reachable before the reboot`);
    before.set(v.name, id);
  }
  const t0 = Date.now();
  for (const [i, v] of order.entries()) {
    const n = restartCount(v.consoleLog);
    await vmSsh(info, v.name, "systemctl reboot", { timeoutSec: 10, allowFail: true });
    if (i < order.length - 1) {
      // Down for real (the kernel printed its restart) before the next one, e.g. the NFS server, goes.
      const deadline = Date.now() + 180_000;
      while (restartCount(v.consoleLog) <= n) {
        if (Date.now() > deadline)
          throw new LabError(`VM ${v.name} did not restart within 180 s:\n${consoleTail(v.consoleLog)}`);
        await sleep(250);
      }
      log(`${v.name} went down after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  await Promise.all(
    order.map(async (v) => {
      await waitBoot(info, v.name, before.get(v.name));
      log(`${v.name} ssh-ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the first reboot`);
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  log(
    `rebooted ${order.map((v) => v.name).join(", ")}: ssh-ready ${secs.toFixed(1)} s after the first reboot`,
  );
  return secs;
}

// --------------------------------------------------------------------------------------------- ports

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

// --------------------------------------------------------------------------------------------- up/down

export interface VmUpOptions {
  log?: Logger;
  /** Keep the run owned by this process (a test run): another vmUp treats it as in use only while we live. */
  hold?: boolean;
  what?: string;
}

function qemuArgs(image: Image, vm: VmRecord, mcastPort: number): string[] {
  const append = [
    "root=/dev/vda rw console=ttyS0 net.ifnames=0",
    `systemd.hostname=${vm.name}`,
    `ip=${vm.labIp}:::${LAB_NETMASK}::eth1:off`,
  ].join(" ");
  return [
    ...["-name", vm.name, "-accel", "tcg", "-smp", String(VM_CPUS), "-m", String(VM_MEMORY_MB)],
    ...["-nodefaults", "-no-user-config", "-display", "none", "-serial", `file:${vm.consoleLog}`],
    ...["-kernel", image.kernel, "-initrd", image.initrd, "-append", append],
    ...[
      "-drive",
      `file=${vm.overlay},if=virtio,format=qcow2`,
      "-drive",
      `file=${vm.spareImg},if=virtio,format=raw`,
    ],
    ...[
      "-netdev",
      `user,id=nat,hostfwd=tcp:127.0.0.1:${vm.sshPort}-:22`,
      "-device",
      "virtio-net-pci,netdev=nat",
    ],
    ...["-netdev", `socket,id=lab,mcast=${MCAST_GROUP}:${mcastPort},localaddr=127.0.0.1`],
    ...["-device", `virtio-net-pci,netdev=lab,mac=52:54:00:88:00:${vm.macSuffix}`],
    ...["-pidfile", vm.pidFile, "-daemonize"],
  ];
}

function sshConfig(image: Image, knownHosts: string, vms: VmRecord[]): string {
  const common = [
    `Host ${vms.map((v) => v.name).join(" ")}`,
    " HostName 127.0.0.1",
    " User root",
    ` IdentityFile ${image.key}`,
    " IdentitiesOnly yes",
    " StrictHostKeyChecking yes",
    ` UserKnownHostsFile ${knownHosts}`,
    " GlobalKnownHostsFile /dev/null",
    " BatchMode yes",
    " LogLevel ERROR",
    " ConnectTimeout 5",
    " ServerAliveInterval 10",
    " ServerAliveCountMax 3",
  ];
  return [...common, ...vms.flatMap((v) => [`Host ${v.name}`, ` Port ${v.sshPort}`])].join("\n") + "\n";
}

const knownHostsLines = (port: number, pubKeys: string) =>
  pubKeys
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 2 && /^(ssh-|ecdsa-)/.test(f[0]!))
    .map((f) => `[127.0.0.1]:${port} ${f[0]} ${f[1]}\n`)
    .join("");

async function startQemu(image: Image, st: VmRunState, vm: VmRecord, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    vm.sshPort = await freeTcpPort();
    writeRunState(st);
    const r = await run(QEMU, qemuArgs(image, vm, st.mcastPort!), { allowFail: true, timeoutMs: 60_000 });
    if (r.code === 0 && existsSync(vm.pidFile)) break;
    // The port may have been taken between our probe and QEMU's bind: try another one.
    if (attempt >= 3 || !/hostfwd|host forwarding|Address already in use/i.test(r.stderr)) {
      throw new LabError(`QEMU for ${vm.name} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    log(`${vm.name}: port ${vm.sshPort} was taken, retrying`);
  }
  vm.pid = Number(readFileSync(vm.pidFile, "utf8").trim());
  writeRunState(st);
}

/** Build (cached) and boot both VMs; returns what tests need (also written to `<run dir>/vm.json`). */
export async function vmUp(opts: VmUpOptions = {}): Promise<VmInfo> {
  const log = opts.log ?? vmLog;
  if (process.getuid?.() !== 0) throw new LabError("the VM lab needs root (guard route, /var/cache, /run)");
  const t0 = Date.now();
  await sweepStale(log);
  for (const d of runDirs())
    if (runInUse(d)) log(`note: another VM lab is running (${d}); both share the 2 cores`);
  const image = await ensureImage(log);

  const id = `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${process.pid}`;
  const runDir = `${RUN_ROOT}/${id}`;
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const st: VmRunState = {
    version: 1,
    id,
    runDir,
    createdAt: new Date().toISOString(),
    owner: selfOwner(opts.what ?? "vmUp"),
    route: false,
    vms: [],
    complete: false,
  };
  writeRunState(st);
  try {
    st.route = true;
    writeRunState(st);
    await run("ip", ["route", "replace", "unreachable", LAB_SUBNET]);
    st.mcastPort = await freeUdpPort();
    writeRunState(st);

    const tBoot = Date.now();
    for (const spec of VMS) {
      const dir = `${runDir}/${spec.name}`;
      mkdirSync(dir);
      const vm: VmRecord = {
        ...(spec as VmSpec),
        dir,
        sshPort: 0,
        pidFile: `${dir}/qemu.pid`,
        consoleLog: `${dir}/console.log`,
        overlay: `${dir}/root.qcow2`,
        spareImg: `${dir}/spare.img`,
      };
      st.vms.push(vm);
      writeRunState(st);
      // The backing path must be absolute (qemu-img resolves a relative one from the overlay's directory).
      await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image.rootImg, "-F", "raw", vm.overlay]);
      await run("truncate", ["-s", SPARE_DISK_SIZE, vm.spareImg]);
      await startQemu(image, st, vm, log);
    }

    // First contact is checked against the image's host keys (which we built), then each VM makes its own.
    const sshConfigFile = `${runDir}/ssh_config`;
    const knownHostsFile = `${runDir}/known_hosts`;
    const imageKnownHosts = `${runDir}/known_hosts.image`;
    const imageKeys = readFileSync(image.hostKeys, "utf8");
    writeFileSync(imageKnownHosts, st.vms.map((v) => knownHostsLines(v.sshPort, imageKeys)).join(""));
    writeFileSync(knownHostsFile, "");
    writeFileSync(sshConfigFile, sshConfig(image, knownHostsFile, st.vms));
    const nodes: VmNode[] = st.vms.map((v) => ({
      name: v.name,
      role: v.role,
      labIp: v.labIp,
      sshHost: "127.0.0.1",
      sshPort: v.sshPort,
      pid: v.pid!,
      consoleLog: v.consoleLog,
      spareDisk: "/dev/vdb",
    }));
    const target = { sshConfigFile, vms: nodes };
    const viaImageKeys = ["-o", `UserKnownHostsFile=${imageKnownHosts}`];
    await Promise.all(
      nodes.map((n) => waitBoot(target, n.name, undefined, { timeoutSec: 300, sshArgs: viaImageKeys })),
    );
    const bootSec = (Date.now() - tBoot) / 1000;
    log(`both VMs ssh-ready in ${bootSec.toFixed(1)} s`);

    // Distinct host keys per VM (the session survives the sshd restart; LAB-VM.md). Only an ed25519 key:
    // `ssh-keygen -A` would also make a 3072-bit RSA key, which takes tens of seconds under TCG.
    const regen = [
      "rm -f /etc/ssh/ssh_host_*",
      "printf 'HostKey /etc/ssh/ssh_host_ed25519_key\\n' > /etc/ssh/sshd_config.d/10-powerstack-vm-lab.conf",
      `ssh-keygen -q -t ed25519 -N '' -C "$(hostname)" -f /etc/ssh/ssh_host_ed25519_key`,
      "systemctl restart ssh",
      "cat /etc/ssh/ssh_host_ed25519_key.pub",
    ].join(" && ");
    const fresh = await Promise.all(
      nodes.map((n) => vmSsh(target, n.name, regen, { timeoutSec: 120, sshArgs: viaImageKeys })),
    );
    const lines = nodes.map((n, i) => knownHostsLines(n.sshPort, fresh[i]!.stdout));
    const keysOnly = (s: string) =>
      s
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ").slice(1).join(" "));
    const all = lines.flatMap(keysOnly);
    if (
      lines.some((l) => l === "") ||
      new Set(all).size !== all.length ||
      all.some((k) => imageKeys.includes(k.split(" ")[1]!))
    ) {
      throw new LabError(`host keys were not regenerated per VM:\n${lines.join("")}`);
    }
    writeFileSync(knownHostsFile, lines.join(""));
    // From now on: strict checking against the run's known_hosts only.
    await Promise.all(nodes.map(async (n) => (await vmSsh(target, n.name, "true", { timeoutSec: 30 })).code));

    const info: VmInfo = {
      id,
      runDir,
      keyFile: image.key,
      knownHostsFile,
      sshConfigFile,
      subnet: LAB_SUBNET,
      mcast: { group: MCAST_GROUP, port: st.mcastPort },
      vms: nodes,
      timings: { imageBuildSec: image.builtSeconds, bootSec, upSec: (Date.now() - t0) / 1000 },
    };
    writeFileSync(vmJsonPath(runDir), JSON.stringify(info, null, 1) + "\n");
    st.complete = true;
    if (!opts.hold) st.owner = undefined;
    writeRunState(st);
    log(`VM lab up in ${info.timings.upSec.toFixed(1)} s: ${runDir}`);
    return info;
  } catch (err) {
    log(`vmUp failed, removing ${runDir}: ${(err as Error).message.split("\n")[0]}`);
    await destroyRun(runDir, log);
    throw err;
  }
}

export const vmJsonPath = (runDir: string) => `${runDir}/vm.json`;

/** A held run becomes kept (POWERSTACK_VM_KEEP=1): it stays up after its owner exits until `cli.ts down`. */
export function releaseRun(runDir: string): void {
  const s = readRunState(runDir);
  if (!s) return;
  s.owner = undefined;
  writeRunState(s);
}

/** Remove one run: its QEMUs (by pidfile, and any other QEMU whose command line names the run dir), the dir, and the route if no run is left. */
export async function destroyRun(runDir: string, log: Logger = vmLog): Promise<void> {
  const needle = `${runDir}/`;
  const s = readRunState(runDir);
  const pids = new Set<number>();
  for (const v of s?.vms ?? []) {
    let pid = v.pid;
    if (pid === undefined && existsSync(v.pidFile))
      pid = Number(readFileSync(v.pidFile, "utf8").trim()) || undefined;
    if (pid !== undefined && pidMatches(pid, needle)) pids.add(pid);
  }
  for (const pid of findProcesses(needle, [QEMU])) pids.add(pid);
  await Promise.all([...pids].map((p) => terminate(p, 10_000)));
  rmSync(runDir, { recursive: true, force: true });
  await removeRouteIfUnused(log);
  if (pids.size) log(`removed ${runDir} (killed QEMU ${[...pids].join(", ")})`);
}

async function removeRouteIfUnused(log: Logger): Promise<void> {
  if (runDirs().length > 0) return; // another run still needs the guard
  const r = await run("ip", ["route", "del", "unreachable", LAB_SUBNET], { allowFail: true });
  if (r.code !== 0 && !/No such process|not found/i.test(r.stderr)) log(`ip route del: ${r.stderr.trim()}`);
  try {
    rmdirSync(RUN_ROOT);
  } catch {
    /* not empty or already gone */
  }
}

/** Remove every run nobody uses any more (owner died, or kept but its VMs are gone), and orphan QEMUs. */
export async function sweepStale(log: Logger = vmLog): Promise<void> {
  for (const d of runDirs()) {
    if (!runInUse(d)) {
      log(`removing stale VM run ${d}`);
      await destroyRun(d, log);
    }
  }
  // QEMUs of a run whose directory is already gone (killed between rm and kill).
  for (const pid of findProcesses(`${RUN_ROOT}/`, [QEMU])) {
    const dir = /-pidfile\0?([^\0]*)/.exec(cmdline(pid).join("\0"))?.[1]?.split("/").slice(0, -2).join("/");
    if (dir && !existsSync(dir)) {
      log(`killing orphan QEMU ${pid} (${dir} is gone)`);
      await terminate(pid, 10_000);
    }
  }
  if (runDirs().length === 0) await removeRouteIfUnused(log);
}

/**
 * Take down runs: `runDir` if given; otherwise every run that is not held by a live process (kept runs
 * included), or all of them with `force`.
 */
export async function vmDown(
  runDir?: string,
  { force = false, log = vmLog }: { force?: boolean; log?: Logger } = {},
): Promise<string[]> {
  const targets = runDir ? [runDir] : runDirs().filter((d) => force || !ownerAliveOf(d));
  for (const d of targets) await destroyRun(d, log);
  if (!runDir) await sweepStale(log);
  return targets;
}

function ownerAliveOf(runDir: string): boolean {
  const s = readRunState(runDir);
  return !!s?.owner && runInUse(runDir);
}

/** Runs that are up (complete, VMs running), newest last, with their info. */
export function runningLabs(): Array<{ state: VmRunState; info: VmInfo }> {
  const out: Array<{ state: VmRunState; info: VmInfo }> = [];
  for (const d of runDirs()) {
    const s = readRunState(d);
    if (!s?.complete || !s.vms.every((v) => vmRunning(s, v)) || !existsSync(vmJsonPath(d))) continue;
    out.push({ state: s, info: JSON.parse(readFileSync(vmJsonPath(d), "utf8")) as VmInfo });
  }
  return out;
}
