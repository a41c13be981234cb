/** Running host commands: every failure names the command and carries its stderr. */
import { spawn } from "node:child_process";

export class LabError extends Error {
  override name = "LabError";
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFail?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (err) => reject(new LabError(`cannot run ${cmd}: ${err.message}`)));
    child.on("close", (code, signal) => {
      const rc = code ?? 128;
      if (rc !== 0 && !opts.allowFail) {
        const why = signal ? `killed by ${signal}` : `exit ${rc}`;
        reject(
          new LabError(`\`${[cmd, ...args].join(" ")}\` failed (${why}): ${stderr.trim() || stdout.trim()}`),
        );
      } else resolve({ code: rc, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** Run and return stdout; throws on failure. */
export async function out(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `check` until it returns a value other than undefined; throw after timeoutMs. An error thrown by
 * `check` is final (e.g. "the process we wait for exited") and ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new LabError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export type Logger = (line: string) => void;
export const stderrLogger: Logger = (line) => process.stderr.write(`[lab] ${line}\n`);
export const silentLogger: Logger = () => {};
