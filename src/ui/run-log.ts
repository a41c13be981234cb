/**
 * The run log: one JSON object per line in `logs/<UTC timestamp>-<command>.jsonl`, every field passed
 * through the run's Redactor first, and every sensitive change reduced to its note, so the log is safe to
 * attach to a bug report.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { diffText } from "../engine/diff.js";
import type { Change } from "../engine/types.js";
import type { Redactor } from "./redact.js";

/**
 * Any change marked sensitive, in whatever record carries it (task results, an interrupted run's
 * tasks), keeps only diffText's `(sensitive: N lines changed)` in place of its before/after.
 */
function withoutSensitiveContent(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutSensitiveContent);
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (o.sensitive === true && o.diff && typeof o.diff === "object")
    return { ...o, diff: diffText(o as unknown as Change) };
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, withoutSensitiveContent(x)]));
}

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
    const line = this.redactor.redactValue(
      withoutSensitiveContent({ time: new Date().toISOString(), event, ...data }) as Record<string, unknown>,
    );
    writeSync(this.fd, JSON.stringify(line) + "\n");
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
