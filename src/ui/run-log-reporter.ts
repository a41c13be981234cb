/**
 * The run log's share of the engine's events: every play, every task start, every progress a long
 * step reports, every task result, written once by this reporter whatever the screen shows (the UI
 * reporters never write the log). Redaction and the stripping of sensitive diffs happen in RunLog.write.
 */
import type { Reporter, TaskEvent } from "../engine/runner.js";
import type { TaskResult } from "../engine/types.js";
import type { RunLog } from "./run-log.js";

export class RunLogReporter implements Reporter {
  /** The last progress text logged per host: a module repeating itself adds no line. */
  private lastProgress = new Map<string, string>();

  constructor(private readonly log: RunLog) {}

  playStart(play: string, hosts: string[]): void {
    this.log.write("play", { play, hosts });
  }

  taskStart(event: TaskEvent): void {
    this.lastProgress.delete(event.host);
    this.log.write("task-start", { ...event });
  }

  taskProgress(event: TaskEvent & { text: string }): void {
    if (this.lastProgress.get(event.host) === event.text) return;
    this.lastProgress.set(event.host, event.text);
    this.log.write("task-progress", { ...event });
  }

  taskResult(result: TaskResult): void {
    this.lastProgress.delete(result.host);
    this.log.write("task", { ...result });
  }

  playEnd(play: string): void {
    this.log.write("play-end", { play });
  }
}
