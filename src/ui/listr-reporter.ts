/**
 * Progress on a terminal with listr2: one line per host per play, showing the task it is on, then its
 * counts. Lines that matter afterwards (changes, failures, diffs) are printed by the PlainReporter it
 * wraps, once the play's progress display has finished.
 */
import { Listr, type ListrTaskWrapper } from "listr2";
import type { Reporter } from "../engine/runner.js";
import type { TaskResult } from "../engine/types.js";
import type { Output } from "./output.js";

interface HostLine {
  task?: ListrTaskWrapper<unknown, any, any>;
  /** Settles the host's progress line; created with the play so an early playEnd cannot be missed. */
  finished: Promise<void>;
  finish: () => void;
  failed?: string;
  counts: { ok: number; changed: number; skipped: number };
}

export class ListrReporter implements Reporter {
  private lines = new Map<string, HostLine>();
  private running: Promise<unknown> | undefined;
  private buffered: TaskResult[] = [];

  constructor(
    private readonly out: Output,
    private readonly plain: Reporter,
  ) {}

  playStart(play: string, hosts: string[]): void {
    this.lines.clear();
    this.buffered = [];
    this.plain.playStart(play, hosts);
    for (const h of hosts) {
      let finish = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      this.lines.set(h, { finished, finish, counts: { ok: 0, changed: 0, skipped: 0 } });
    }
    const list = new Listr(
      hosts.map((h) => ({
        title: h,
        task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, any, any>) => {
          const line = this.lines.get(h)!;
          line.task = task;
          await line.finished;
          if (line.failed) throw new Error(this.out.redactor.redact(line.failed));
        },
      })),
      { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false } },
    );
    this.running = list.run().catch(() => undefined);
  }

  taskResult(r: TaskResult): void {
    this.buffered.push(r);
    const line = this.lines.get(r.host);
    if (!line) return;
    if (r.status === "failed" || r.status === "unreachable" || r.status === "interrupted")
      line.failed = `${r.task}: ${r.msg ?? r.status}`;
    else line.counts[r.status]++;
    const { ok, changed, skipped } = line.counts;
    if (line.task)
      line.task.title = this.out.redactor.redact(
        `${r.host}: ${r.task}  [ok ${ok}, changed ${changed}${skipped ? `, skipped ${skipped}` : ""}]`,
      );
  }

  async playEnd(play: string): Promise<void> {
    for (const line of this.lines.values()) line.finish();
    await this.running;
    // Replay the results as plain lines after the live display, so changes and failures stay on screen.
    for (const r of this.buffered) this.plain.taskResult(r);
    await this.plain.playEnd(play);
  }
}
