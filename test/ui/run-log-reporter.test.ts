/**
 * The run log is written from the engine's events by RunLogReporter, beside whichever display runs, and
 * teeReporters hands each event to both: the same events in give the same log out, on a terminal, on a
 * pipe or under --json, still redacted and with sensitive diffs reduced to their note.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import type { Reporter, TaskEvent } from "../../src/engine/runner.js";
import type { TaskResult } from "../../src/engine/types.js";
import { Output } from "../../src/ui/output.js";
import { playbookReporter, type DisplayChoice } from "../../src/ui/playbook-reporter.js";
import { MASK, Redactor } from "../../src/ui/redact.js";
import { RunLog } from "../../src/ui/run-log.js";
import { teeReporters } from "../../src/ui/tee-reporter.js";

const tmp = mkdtempSync(join(tmpdir(), "powerstack-runlog-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SECRET = "s3cret-token-value";

/** Collects what a stream is given. */
function sink(): NodeJS.WritableStream & { text: () => string } {
  const chunks: string[] = [];
  return Object.assign(
    { write: (s: string | Uint8Array) => (chunks.push(String(s)), true) } as unknown as NodeJS.WritableStream,
    { text: () => chunks.join("") },
  );
}

const PLAY = "K3s server";
const ev = (host: string, task: string): TaskEvent => ({ host, play: PLAY, task });

/** One play as the runner reports it: progress (repeated, and once holding a secret), a change, a failure. */
async function drive(r: Reporter): Promise<void> {
  r.playStart(PLAY, ["ctl", "w1"]);
  r.taskStart?.(ev("ctl", "k3s-server: config"));
  r.taskStart?.(ev("w1", "k3s-agent: images"));
  r.taskProgress?.({ ...ev("w1", "k3s-agent: images"), text: "upload images.tar: 8.0 of 16.0 MiB" });
  r.taskProgress?.({ ...ev("w1", "k3s-agent: images"), text: "upload images.tar: 8.0 of 16.0 MiB" });
  r.taskProgress?.({ ...ev("ctl", "k3s-server: config"), text: `token ${SECRET} in place` });
  const changed: TaskResult = {
    ...ev("ctl", "k3s-server: config"),
    status: "changed",
    changes: [
      {
        summary: "write /etc/rancher/k3s/config.yaml",
        diff: { path: "/etc/rancher/k3s/config.yaml", before: "", after: `token: other-${SECRET}-form\n` },
        sensitive: true,
      },
    ],
    durationMs: 12,
  };
  r.taskResult(changed);
  r.taskResult({
    ...ev("w1", "k3s-agent: images"),
    status: "failed",
    changes: [],
    msg: `upload failed: server said ${SECRET}`,
    durationMs: 40,
  });
  await r.playEnd(PLAY);
}

interface Run {
  records: Array<Record<string, unknown>>;
  stdout: string;
  stderr: string;
}

/** `drive` through the reporter the CLI builds for this display; the log's records without their times. */
async function runThrough(name: string, display: DisplayChoice): Promise<Run> {
  const redactor = new Redactor();
  redactor.add(SECRET);
  const stdout = sink();
  const stderr = sink();
  const out = new Output(redactor, display.json, stdout, stderr);
  const dir = mkdtempSync(join(tmp, `${name}-`));
  const log = new RunLog(dir, "up", redactor);
  // listr2 draws on the process's streams itself (its non-TTY fallback here): kept out of the test's output.
  const drawn = [process.stdout, process.stderr].map((s) =>
    vi.spyOn(s, "write").mockImplementation(() => true),
  );
  try {
    await drive(playbookReporter(out, log, display));
  } finally {
    for (const d of drawn) d.mockRestore();
    log.close();
  }
  const text = readFileSync(join(dir, readdirSync(dir)[0]!), "utf8");
  const records = text
    .trim()
    .split("\n")
    .map((l) => {
      const { time, ...rest } = JSON.parse(l) as Record<string, unknown>;
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT/);
      return rest;
    });
  return { records, stdout: stdout.text(), stderr: stderr.text() };
}

const display = (json: boolean, terminal: boolean): DisplayChoice => ({
  json,
  diff: true,
  verbose: 0,
  terminal,
});

describe("the run log, fed by the engine's events", () => {
  test("the same events give the same log on a terminal, on a pipe and under --json", async () => {
    const terminal = await runThrough("tty", display(false, true));
    const pipe = await runThrough("pipe", display(false, false));
    const json = await runThrough("json", display(true, false));
    expect(pipe.records).toEqual(terminal.records);
    expect(json.records).toEqual(terminal.records);
  });

  test("every event once, in order: play, starts, progress (a repeat not again), results, play end", async () => {
    const { records } = await runThrough("events", display(false, false));
    expect(records.map((r) => [r.event, r.host ?? "", r.text ?? r.status ?? ""])).toEqual([
      ["play", "", ""],
      ["task-start", "ctl", ""],
      ["task-start", "w1", ""],
      ["task-progress", "w1", "upload images.tar: 8.0 of 16.0 MiB"],
      ["task-progress", "ctl", `token ${MASK} in place`],
      ["task", "ctl", "changed"],
      ["task", "w1", "failed"],
      ["play-end", "", ""],
    ]);
  });

  test("still redacted, and a sensitive diff is only its note", async () => {
    const { records } = await runThrough("redacted", display(false, true));
    const text = JSON.stringify(records);
    expect(text).not.toContain(SECRET);
    expect(records.find((r) => r.status === "failed")!.msg).toBe(`upload failed: server said ${MASK}`);
    const change = (
      records.find((r) => r.status === "changed")!.changes as Array<Record<string, unknown>>
    )[0];
    expect(change).toEqual({
      summary: "write /etc/rancher/k3s/config.yaml",
      sensitive: true,
      diff: "--- /etc/rancher/k3s/config.yaml (before)\n+++ /etc/rancher/k3s/config.yaml (after)\n(sensitive: 1 line changed)",
    });
  });

  test("plain lines show progress once per text; --json keeps stdout to objects and says progress on stderr", async () => {
    const pipe = await runThrough("plain-lines", display(false, false));
    expect(pipe.stdout.split("\n").filter((l) => l.includes("progress"))).toEqual([
      "  progress    w1    k3s-agent: images: upload images.tar: 8.0 of 16.0 MiB",
      `  progress    ctl   k3s-server: config: token ${MASK} in place`,
    ]);
    const json = await runThrough("json-lines", display(true, false));
    const objects = json.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(objects).toEqual(["play", "task", "task"]);
    expect(json.stderr).toContain(
      "  progress    w1    k3s-agent: images: upload images.tar: 8.0 of 16.0 MiB\n",
    );
    expect(json.stdout + json.stderr).not.toContain(SECRET);
  });
});

describe("teeReporters", () => {
  test("hands every event to each reporter in order, skips what one does not take, awaits each playEnd", async () => {
    const seen: string[] = [];
    const full: Reporter = {
      playStart: (p, h) => void seen.push(`full play ${p} ${h.join(",")}`),
      taskStart: (e) => void seen.push(`full start ${e.task}`),
      taskProgress: (e) => void seen.push(`full progress ${e.text}`),
      taskResult: (r) => void seen.push(`full result ${r.status}`),
      // Finishes later than the next reporter's would: the tee must wait for it first.
      playEnd: () => new Promise<void>((done) => setTimeout(() => (seen.push("full end"), done()), 30)),
    };
    const bare: Reporter = {
      playStart: (p) => void seen.push(`bare play ${p}`),
      taskResult: (r) => void seen.push(`bare result ${r.status}`),
      playEnd: () => void seen.push("bare end"),
    };
    const tee = teeReporters(full, bare);
    tee.playStart("P", ["a"]);
    tee.taskStart!(ev("a", "t"));
    tee.taskProgress!({ ...ev("a", "t"), text: "half" });
    tee.taskResult({ ...ev("a", "t"), status: "ok", changes: [], durationMs: 1 });
    await tee.playEnd("P");
    expect(seen).toEqual([
      "full play P a",
      "bare play P",
      "full start t",
      "full progress half",
      "full result ok",
      "bare result ok",
      "full end",
      "bare end",
    ]);
  });
});
