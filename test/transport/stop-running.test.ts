/**
 * Ctrl-C reaches the node: SshHost.stopRunning() ends a running command with everything it started
 * (children, `timeout` and its own process group included), escalates to SIGKILL for a command that ignores
 * SIGTERM, and starts nothing afterwards. Against a real OpenSSH sshd on loopback; the "node" is this
 * machine, so the test looks in /proc for the processes the commands left.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { InterruptedError } from "../../src/transport/errors.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { startSshd, type Sshd } from "../support/sshd.js";

let sshd: Sshd;
let dir: string;
beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(join(tmpdir(), "powerstack-stop-"));
});
afterAll(async () => {
  // Whatever a failed assertion left running: never leave a process behind.
  for (const f of ["child", "stubborn"]) {
    const pid = existsSync(join(dir, f)) ? Number(readFileSync(join(dir, f), "utf8")) : 0;
    if (pid && alive(pid)) process.kill(pid, "SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
  await sshd?.stop();
});

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(status(pid));
const status = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return "";
  }
};

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid a command on the node writes into `f`, once it has written it. */
async function pidWrittenTo(f: string): Promise<number> {
  const path = join(dir, f);
  await until(() => existsSync(path) && readFileSync(path, "utf8").length > 0);
  return Number(readFileSync(path, "utf8").trim());
}

/** How a command ends (its error, or undefined), caught at once so that it is never an unhandled rejection. */
const outcomeOf = (running: Promise<unknown>) =>
  running.then(
    () => undefined,
    (e: unknown) => e,
  );

/** A connection to the "node" (this machine) through the test sshd. */
const connect = () =>
  SshHost.connect({ name: "loop", address: "127.0.0.1", port: sshd.port }, sshd.settings());

describe("stopping running commands on the node (real sshd on loopback)", () => {
  test("a command with a time limit and a child: both ended by SIGTERM; the exec fails as interrupted", async () => {
    const h = await connect();
    try {
      // timeoutSec wraps it in `timeout`, which moves into a process group of its own: a group kill would miss it.
      const outcome = outcomeOf(h.exec(`sleep 300 & echo $! > ${dir}/child; wait`, { timeoutSec: 600 }));
      const child = await pidWrittenTo("child");
      expect(alive(child)).toBe(true);
      const started = Date.now();
      await h.stopRunning();
      expect(Date.now() - started).toBeLessThan(2_500); // SIGTERM sufficed: no wait for the SIGKILL grace
      expect(await outcome).toBeInstanceOf(InterruptedError);
      await until(() => !alive(child), 2_000);
      // Nothing new starts on a stopped connection.
      await expect(h.exec("true")).rejects.toBeInstanceOf(InterruptedError);
    } finally {
      await h.close();
    }
  });

  test("a command that ignores SIGTERM gets SIGKILL after the grace period", async () => {
    const h = await connect();
    try {
      // An ignored signal stays ignored across exec: the shell and its sleep both shrug off SIGTERM.
      const outcome = outcomeOf(h.exec(`trap '' TERM; sleep 300 & echo $! > ${dir}/stubborn; wait`));
      const stubborn = await pidWrittenTo("stubborn");
      await h.stopRunning();
      expect(await outcome).toBeInstanceOf(InterruptedError);
      await until(() => !alive(stubborn), 2_000);
    } finally {
      await h.close();
    }
  });

  test("commands that were not running are untouched: the marker line never reaches the caller", async () => {
    const h = await connect();
    try {
      const r = await h.exec("echo out; echo err >&2; exit 3");
      expect(r).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
      expect((await h.exec("true")).stderr).toBe("");
      await h.stopRunning(); // nothing running: returns at once
    } finally {
      await h.close();
    }
  });
});
