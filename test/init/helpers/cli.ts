/** Run the real CLI (TypeScript through tsx) in a throw-away directory, hermetic from the caller's environment. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const FIXTURES = join(ROOT, "test/init/fixtures");
const TSX = join(ROOT, "node_modules/.bin/tsx");
const BIN = join(ROOT, "bin/powerstack.ts");

/** argv that runs `powerstack <args>`. */
export function cliArgv(...args: string[]): string[] {
  return [TSX, BIN, ...args];
}

/** The environment a test run sees: no POWERSTACK_* leaking in from the developer's shell, HOME in the sandbox. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("POWERSTACK_")) env[k] = v;
  return { ...env, HOME: home, NO_COLOR: "1", ...extra };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run without a terminal (stdin is not a TTY), as CI does. */
export function runCli(
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<CliResult> {
  const [cmd, ...rest] = cliArgv(...args);
  return new Promise((done) => {
    const child = execFile(
      cmd!,
      rest,
      { cwd: opts.cwd, env: cleanEnv(opts.cwd, opts.env), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException).code === "number"
            ? Number((err as NodeJS.ErrnoException).code)
            : (child.exitCode ?? 1)
          : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** A fresh directory; `remove()` deletes it (call it in afterEach). */
export function sandbox(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-init-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
