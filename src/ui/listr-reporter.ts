/**
 * Progress on a terminal with listr2: per play, one entry per host showing the task it is running and
 * for how long (redrawn several times a second), under it the progress text a long step reports
 * (`upload ...: 40.0 of 200.0 MiB`, `2 of 3 nodes Ready`), and the tasks it has finished as counts.
 * Lines that matter afterwards (changes, failures, diffs) are printed by the PlainReporter it wraps, once
 * the play's display has finished, so they stay on screen and in the scrollback.
 */
import { Listr, type ListrTaskWrapper } from "listr2";
import type { Reporter, TaskEvent } from "../engine/runner.js";
import type { TaskResult, TaskStatus } from "../engine/types.js";
import type { Output } from "./output.js";

/** `0s`, `59s`, `1m05s`, `1h02m`: short enough to sit in a task line, exact enough to see it move. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const FAILURES: TaskStatus[] = ["failed", "unreachable", "interrupted"];

interface HostLine {
  name: string;
  task?: ListrTaskWrapper<unknown, any, any>;
  /** Settles the host's entry; created with the play so an early playEnd cannot be missed. */
  finished: Promise<void>;
  finish: () => void;
  /** First line of the failure, shown as the entry's error (the full message comes with the plain lines). */
  failed?: string;
  counts: Record<TaskStatus, number>;
  /** What the host is doing now: a task (or, before its first one, connecting and building its tasks). */
  running?: { label: string; since: number; progress?: string };
  /** What was last handed to listr2, so a redraw that changes nothing emits nothing. */
  shown: { title?: string; output?: string };
}

export interface ListrReporterOptions {
  /** How often running entries are redrawn (their elapsed time); below a second so `1s`, `2s` each show. */
  tickMs?: number;
  now?: () => number;
}

export class ListrReporter implements Reporter {
  private lines = new Map<string, HostLine>();
  private running: Promise<unknown> | undefined;
  private buffered: TaskResult[] = [];
  private ticker: ReturnType<typeof setInterval> | undefined;
  private width = 4;
  private readonly tickMs: number;
  private readonly now: () => number;

  constructor(
    private readonly out: Output,
    private readonly plain: Reporter,
    opts: ListrReporterOptions = {},
  ) {
    this.tickMs = opts.tickMs ?? 250;
    this.now = opts.now ?? Date.now;
  }

  playStart(play: string, hosts: string[]): void {
    this.lines.clear();
    this.buffered = [];
    this.plain.playStart(play, hosts);
    this.width = Math.max(4, ...hosts.map((h) => h.length));
    const since = this.now();
    for (const name of hosts) {
      let finish = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const counts = { ok: 0, changed: 0, skipped: 0, failed: 0, unreachable: 0, interrupted: 0 };
      this.lines.set(name, {
        name,
        finished,
        finish,
        counts,
        running: { label: "starting", since },
        shown: {},
      });
    }
    const list = new Listr(
      hosts.map((h) => ({
        title: h,
        rendererOptions: { outputBar: 1 },
        task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, any, any>) => {
          const line = this.lines.get(h)!;
          line.task = task;
          this.render(line);
          await line.finished;
          if (line.failed) throw new Error(this.out.redactor.redact(line.failed));
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        // Ctrl-C belongs to the CLI (interrupts.ts: stop cleanly, recap, exit 130); listr2's own handler
        // would exit the process at once with 127.
        registerSignalListeners: false,
        rendererOptions: { collapseErrors: false, formatOutput: "truncate" },
      },
    );
    this.running = list.run().catch(() => undefined);
    this.ticker = setInterval(() => {
      for (const line of this.lines.values()) if (line.running) this.render(line);
    }, this.tickMs);
    // A redraw is never a reason to keep the process alive (a run that ends without playEnd must exit).
    this.ticker.unref();
  }

  taskStart(e: TaskEvent): void {
    const line = this.lines.get(e.host);
    if (!line) return;
    line.running = { label: e.handler ? `${e.task} (handler)` : e.task, since: this.now() };
    this.render(line);
  }

  taskProgress(e: TaskEvent & { text: string }): void {
    const line = this.lines.get(e.host);
    if (!line?.running) return;
    line.running.progress = e.text;
    this.render(line);
  }

  taskResult(r: TaskResult): void {
    this.buffered.push(r);
    const line = this.lines.get(r.host);
    if (!line) return;
    line.counts[r.status]++;
    if (FAILURES.includes(r.status) && !line.failed)
      line.failed = `${r.task}: ${(r.msg ?? r.status).split("\n")[0]}`;
    line.running = undefined;
    this.render(line);
  }

  async playEnd(play: string): Promise<void> {
    clearInterval(this.ticker);
    for (const line of this.lines.values()) {
      line.running = undefined;
      this.render(line);
      line.finish();
    }
    await this.running;
    // Replay the results as plain lines after the live display, so changes and failures stay on screen.
    for (const r of this.buffered) this.plain.taskResult(r);
    await this.plain.playEnd(play);
  }

  /** `ctl   K3s server v1.31.4+k3s1  12s  [ok 4, changed 1]`, and the step's progress under it. */
  private render(line: HostLine): void {
    if (!line.task) return;
    const c = line.counts;
    const extra = (["skipped", ...FAILURES] as const).filter((s) => c[s] > 0).map((s) => `, ${s} ${c[s]}`);
    const counts = `[ok ${c.ok}, changed ${c.changed}${extra.join("")}]`;
    const r = line.running;
    const host = line.name.padEnd(this.width);
    const title = r
      ? `${host}  ${r.label}  ${formatElapsed(this.now() - r.since)}  ${counts}`
      : `${host}  ${counts}`;
    const output = r?.progress ?? "";
    if (title !== line.shown.title) line.task.title = this.out.redactor.redact(title);
    if (output !== line.shown.output) line.task.output = this.out.redactor.redact(output);
    line.shown = { title, output };
  }
}
