/** Process and lock helpers that read /proc directly (no pgrep: names alone would match other people's processes). */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { LabError, sleep } from "./exec.js";

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Start time of a process (clock ticks since boot): with the pid, identifies a process across pid reuse. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Pids whose command line contains `needle` and whose program is one of `programs` (basename). */
export function findProcesses(needle: string, programs: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const argv = cmdline(pid);
    const prog = (argv[0] ?? "").split("/").pop() ?? "";
    if (programs.includes(prog) && argv.some((a) => a.includes(needle)) && pidAlive(pid)) found.push(pid);
  }
  return found;
}

/** Does `pid` still run the process we started (pids are reused)? */
export function pidMatches(pid: number, needle: string): boolean {
  return pidAlive(pid) && cmdline(pid).some((a) => a.includes(needle));
}

/** SIGTERM, wait up to graceMs, then SIGKILL; resolves when gone. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  if (!pidAlive(pid)) return;
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    signal("SIGKILL");
    while (pidAlive(pid)) await sleep(20);
  }
  await waitReaped(pid, 5_000);
}

/**
 * A dead process stays a zombie until its parent reaps it; a lab process whose starter exited belongs
 * to PID 1, which may take a second or two. Wait for that so callers (and `pgrep`) see it gone.
 */
export async function waitReaped(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(`/proc/${pid}`) && !pidAlive(pid) && Date.now() < deadline) await sleep(50);
}

/**
 * An exclusive lock: a directory (mkdir is atomic) holding the owner's pid. A lock whose owner died is
 * taken over, so a killed run never blocks the next one.
 */
export async function withLock<T>(
  dir: string,
  what: string,
  fn: () => Promise<T>,
  timeoutMs = 900_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/pid`, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(`${dir}/pid`, "utf8"));
      } catch {
        /* being created or removed */
      }
      if (owner === process.pid) throw new LabError(`${what}: lock ${dir} is already held by this process`);
      if (Number.isInteger(owner) && !pidAlive(owner)) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new LabError(`${what}: lock ${dir} held by pid ${owner}`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
