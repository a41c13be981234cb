/**
 * The run log: one JSON object per line in `logs/<UTC timestamp>-<command>.jsonl`, every field passed
 * through the run's Redactor first, so the log is safe to attach to a bug report.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Redactor } from "./redact.js";

export class RunLog {
  readonly path: string;
  private fd: number | undefined;

  constructor(
    dir: string,
    command: string,
    private readonly redactor: Redactor,
    now: Date = new Date(),
  ) {
    const stamp = now.toISOString().replace(/[:.]/g, "-");
    this.path = resolve(join(dir, `${stamp}-${command}.jsonl`));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.fd = openSync(this.path, "a", 0o600);
  }

  write(event: string, data: Record<string, unknown> = {}): void {
    if (this.fd === undefined) return;
    const line = this.redactor.redactValue({ time: new Date().toISOString(), event, ...data });
    writeSync(this.fd, JSON.stringify(line) + "\n");
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
