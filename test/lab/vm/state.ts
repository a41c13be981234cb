/**
 * A run's state file (`<run dir>/state.json`): written atomically (temp file + rename) BEFORE each host
 * resource is made (the guard route, each QEMU), so `destroyRun` can undo everything after a crash or a killed
 * test run. A run whose owner died is stale and is removed by the next `vmUp` (or `cli.ts down`).
 */
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { pidAlive, pidMatches, startTime } from "../proc.js";
import { RUN_ROOT, type VmSpec } from "./config.js";

export interface VmRecord extends VmSpec {
  dir: string;
  sshPort: number;
  pidFile: string;
  consoleLog: string;
  overlay: string;
  spareImg: string;
  /** QEMU's pid, once its pidfile exists. */
  pid?: number;
}

export interface Owner {
  pid: number;
  startTime: string;
  what: string;
}

export interface VmRunState {
  version: 1;
  id: string;
  runDir: string;
  createdAt: string;
  /** The process the run belongs to (a test run, or `cli.ts up` while it works); none once a run is kept. */
  owner?: Owner;
  /** The guard route was (about to be) added by this run. */
  route: boolean;
  mcastPort?: number;
  vms: VmRecord[];
  complete: boolean;
}

export const stateFile = (runDir: string) => `${runDir}/state.json`;

export function readRunState(runDir: string): VmRunState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(runDir), "utf8")) as VmRunState;
    return s.version === 1 && Array.isArray(s.vms) ? s : undefined;
  } catch {
    return undefined; // missing, torn or corrupt: destroyRun falls back to finding processes by the run dir
  }
}

export function writeRunState(s: VmRunState): void {
  const tmp = `${stateFile(s.runDir)}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(s, null, 1) + "\n");
  renameSync(tmp, stateFile(s.runDir));
}

export function selfOwner(what: string): Owner {
  return { pid: process.pid, startTime: startTime(process.pid) ?? "", what };
}

export function ownerAlive(o: Owner | undefined): boolean {
  return !!o && pidAlive(o.pid) && startTime(o.pid) === o.startTime;
}

/** QEMU of `vm` still running (the pid is checked against the run dir: pids are reused). */
export function vmRunning(s: VmRunState, vm: VmRecord): boolean {
  return vm.pid !== undefined && pidMatches(vm.pid, `${s.runDir}/`);
}

function dirMtimeMs(dir: string): number {
  try {
    return statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

/** Every run directory under RUN_ROOT. */
export function runDirs(): string[] {
  if (!existsSync(RUN_ROOT)) return [];
  return readdirSync(RUN_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `${RUN_ROOT}/${e.name}`)
    .sort();
}

/**
 * Is the run in use: held by a live owner, or kept (no owner: `cli.ts up`, POWERSTACK_VM_KEEP=1) with its
 * VMs running. Anything else is what a crash left.
 */
export function runInUse(runDir: string): boolean {
  const s = readRunState(runDir);
  // No state yet: a run being created this very moment (its state follows its mkdir), unless it is old.
  if (!s) return Date.now() - dirMtimeMs(runDir) < 60_000;
  if (s.owner) return ownerAlive(s.owner);
  return s.complete && s.vms.some((v) => vmRunning(s, v));
}
