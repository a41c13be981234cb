/**
 * What `powerstack up` shows on a real terminal (tmux, as the wizard's tests do): per play, one entry per
 * host with the task it runs, how long it has been running (moving second by second) and the progress
 * text the step reports; at the end the hosts' counts, the changed lines and the recap. The play is a
 * local one (test/support/tty-playbook.ts): real commands on this machine, no lab. The same playbook run
 * through a pipe writes the same run log.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cliArgv, ROOT, runCli } from "../init/helpers/cli.js";
import { TmuxSession } from "../init/helpers/tmux.js";
import { QUICK_TASK, SLOW_TASK, stepText, writeTtyPlaybook } from "../support/tty-playbook.js";

// Each run starts tsx, which compiles the CLI: generous on a loaded machine, still bounded.
const CLI_TIMEOUT_MS = 120_000;
const STARTUP_MS = 45_000;
const STEPS = 3;

let dir: string;
let tty: TmuxSession | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "powerstack-tty-"));
});
afterEach(() => {
  tty?.kill();
  tty = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The CLI as ONE process (node with tsx's loader), as the installed `node dist/bin/powerstack.js` is: the
 * `tsx` command runs it in a child process and relays the terminal's Ctrl-C to it, so the child would see
 * two SIGINTs (the second one means "exit at once").
 */
const singleProcessCli = (...args: string[]) => [
  process.execPath,
  "--import",
  pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href,
  join(ROOT, "bin/powerstack.ts"),
  ...args,
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A host's entry while `task` runs: `ctl   slow: count slowly  2s  [ok 0, changed 0]`. */
const running = (host: string, task: string, elapsed: string) =>
  new RegExp(
    `^\\S+ ${escape(host.padEnd(4))}  ${escape(task)}  ${elapsed}  \\[ok \\d+, changed \\d+\\]$`,
    "m",
  );

/** A host's entry with the progress line under it: `ctl   slow: count slowly  1s  [...]` / `  › step 1 of 3`. */
const entry = (host: string, elapsed: string, progress: string) =>
  new RegExp(
    `^\\S+ ${escape(host.padEnd(4))}  ${escape(SLOW_TASK)}  ${elapsed}  \\[ok \\d+, changed \\d+\\]\\n  › ${escape(progress)}$`,
    "m",
  );

/** The run log's records, times and durations left out, grouped per host (hosts run side by side). */
function logByHost(logDir: string): Record<string, string[]> {
  const [file] = readdirSync(logDir).filter((f) => f.endsWith("-up.jsonl"));
  const byHost: Record<string, string[]> = {};
  for (const line of readFileSync(join(logDir, file!), "utf8").trim().split("\n")) {
    const { time: _t, durationMs: _d, wallMs: _w, ...record } = JSON.parse(line) as Record<string, unknown>;
    // The recap lists hosts in the order they first reported: sorted, that race is gone.
    if (record.event === "recap")
      record.hosts = Object.fromEntries(
        Object.entries(record.hosts as object).sort(([a], [b]) => a.localeCompare(b)),
      );
    (byHost[String(record.host ?? "-")] ??= []).push(JSON.stringify(record));
  }
  return byHost;
}

describe("powerstack up on a terminal", { timeout: CLI_TIMEOUT_MS }, () => {
  it("shows each host's running task, its elapsed time and its progress, then the counts and the recap", async () => {
    // Steps of 2 s: the time shown must move on between two progress reports (the display's own clock).
    const p = await writeTtyPlaybook(dir, STEPS, 2);
    const t = (tty = TmuxSession.start(cliArgv(...p.args), { cwd: dir, env: { HOME: dir, ...p.env } }));

    // Both hosts work side by side; the time moves on while a step runs, and the step says how far it is.
    const first = await t.until(
      (s) => entry("ctl", "1s", stepText(1, STEPS)).test(s) && running("w1", SLOW_TASK, "[01]s").test(s),
      "ctl running the slow task for 1s, still at its first step, and w1 running it too",
      STARTUP_MS,
    );
    expect(first).toMatch(entry("ctl", "1s", stepText(1, STEPS)));
    await t.until(
      (s) => entry("ctl", "[45]s", stepText(STEPS, STEPS)).test(s),
      "the elapsed time to reach 4s, at the last step",
      15_000,
    );
    expect(await t.exitCode(30_000)).toBe(0);

    const screen = t.screen();
    // The live entries were redrawn in place: what stays is each host's counts, no running task, no progress.
    expect(screen).toMatch(/^\S+ ctl   \[ok 1, changed 1\]$/m);
    expect(screen).toMatch(/^\S+ w1    \[ok 1, changed 1\]$/m);
    expect(screen).not.toContain("› step");
    expect(screen).not.toContain(QUICK_TASK);
    expect(screen).not.toMatch(running("ctl", SLOW_TASK, "\\d+s"));
    // The lines that matter afterwards, then the recap.
    expect(screen).toMatch(new RegExp(`^  changed +ctl +${escape(SLOW_TASK)}: count to ${STEPS}$`, "m"));
    expect(screen).toMatch(new RegExp(`^  changed +w1 +${escape(SLOW_TASK)}: count to ${STEPS}$`, "m"));
    expect(screen).toMatch(/^RECAP$/m);
    expect(screen).toMatch(/^ {2}ctl +1 +1 +0 +0 +0 *$/m);
    expect(screen).toMatch(/^ {2}w1 +1 +1 +0 +0 +0 *$/m);
    expect(screen.indexOf("RECAP")).toBeGreaterThan(screen.lastIndexOf("changed     w1"));
    const ttyLog = logByHost(p.logDir);

    // The same playbook through a pipe: plain progress lines, and the same run log.
    const pipeLogs = join(dir, "pipe-logs");
    const pipe = await runCli(p.args, { cwd: dir, env: { ...p.env, POWERSTACK_LOG_DIR: pipeLogs } });
    expect(pipe.code).toBe(0);
    expect(pipe.stdout).toContain(`  progress    ctl   ${SLOW_TASK}: ${stepText(1, STEPS)}\n`);
    expect(pipe.stdout).not.toContain("›");
    const pipeLog = logByHost(pipeLogs);
    expect(pipeLog).toEqual(ttyLog);
    expect(ttyLog.ctl!.map((r) => (JSON.parse(r) as { event: string }).event)).toEqual([
      "task-start",
      ...Array<string>(STEPS).fill("task-progress"),
      "task",
      "task-start",
      "task",
    ]);
  });

  it("Ctrl-C stops the run cleanly: the entries end as interrupted, the recap follows, exit 130", async () => {
    const p = await writeTtyPlaybook(dir, 20);
    const t = (tty = TmuxSession.start(singleProcessCli(...p.args), {
      cwd: dir,
      env: { HOME: dir, ...p.env },
    }));
    await t.waitFor(new RegExp(`^  › ${escape(stepText(1, 20))}$`, "m"), STARTUP_MS);
    t.press("C-c");
    // listr2's own SIGINT handler would end the process at once (exit 127, no recap): the CLI owns Ctrl-C.
    expect(await t.exitCode(30_000)).toBe(130);
    const screen = t.screen();
    expect(screen).toMatch(/^\S+ ctl   \[ok 0, changed 0, interrupted 1\]$/m);
    expect(screen).toMatch(new RegExp(`^  interrupted ctl   ${escape(SLOW_TASK)}$`, "m"));
    expect(screen).toMatch(/^RECAP$/m);
    expect(screen).toMatch(/^ {2}ctl +0 +0 +0 +0 +0 +1 *$/m);
    expect(screen).toMatch(/^interrupted by SIGINT: .*rerun to converge$/m);
  });
});
