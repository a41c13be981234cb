/**
 * What the user sees. Every line goes through the Redactor; in `--json` mode human text goes to stderr
 * so that stdout carries only JSON objects, one per line.
 */
import type { Redactor } from "./redact.js";

export class Output {
  constructor(
    readonly redactor: Redactor,
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Human-readable line (stderr in --json mode). */
  info(line: string): void {
    (this.json ? this.err : this.out).write(this.redactor.redact(line) + "\n");
  }

  error(line: string): void {
    this.err.write(this.redactor.redact(line) + "\n");
  }

  /** One machine-readable object (only in --json mode). */
  object(value: Record<string, unknown>): void {
    if (this.json) this.out.write(JSON.stringify(this.redactor.redactValue(value)) + "\n");
  }
}
