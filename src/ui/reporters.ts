/**
 * How task results reach the user: plain lines (pipes, CI logs), one JSON object per result (--json), or
 * listr2 progress (a terminal). All three see the same events; every line passes the Redactor via Output.
 * None of them writes the run log: RunLogReporter does, beside whichever of these was chosen.
 */
import { diffText } from "../engine/diff.js";
import type { HostRecap, Reporter, TaskEvent } from "../engine/runner.js";
import type { TaskResult } from "../engine/types.js";
import type { Output } from "./output.js";

const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - s.length));

/**
 * Progress of a long step as a human line (`  progress    ctl   K3s server: upload ...: 40.0 of 200.0
 * MiB`), for outputs that cannot redraw a line: a pipe, a CI log, stderr under --json. A text repeated
 * for the same host prints nothing more.
 */
class ProgressLines {
  private last = new Map<string, string>();
  width = 4;
  constructor(private readonly out: Output) {}

  line(e: TaskEvent & { text: string }): void {
    if (this.last.get(e.host) === e.text) return;
    this.last.set(e.host, e.text);
    this.out.info(`  ${pad("progress", 11)} ${pad(e.host, this.width)}  ${e.task}: ${e.text}`);
  }

  forget(host: string): void {
    this.last.delete(host);
  }
}

export class PlainReporter implements Reporter {
  private width = 8;
  private readonly progress: ProgressLines;
  constructor(
    private readonly out: Output,
    private readonly diff: boolean,
    private readonly verbose: number,
  ) {
    this.progress = new ProgressLines(out);
  }

  playStart(play: string, hosts: string[]): void {
    this.width = Math.max(4, ...hosts.map((h) => h.length));
    this.progress.width = this.width;
    this.out.info(`\nPLAY [${play}] ${hosts.join(", ") || "(no hosts)"}`);
  }

  taskProgress(e: TaskEvent & { text: string }): void {
    this.progress.line(e);
  }

  taskResult(r: TaskResult): void {
    this.progress.forget(r.host);
    if (r.status === "ok" && this.verbose === 0) return; // quiet by default: show what changed or failed
    const label = r.handler ? `${r.task} (handler)` : r.task;
    const detail = r.status === "changed" ? `: ${r.changes.map((c) => c.summary).join("; ")}` : "";
    this.out.info(`  ${pad(r.status, 11)} ${pad(r.host, this.width)}  ${label}${detail}`);
    if (r.msg) this.out.info(r.msg.replace(/^/gm, "      "));
    if (this.diff) {
      for (const text of r.changes.map(diffText)) if (text) this.out.info(text.replace(/^/gm, "      "));
    }
  }

  playEnd(): void {}
}

export class JsonReporter implements Reporter {
  private readonly progress: ProgressLines;
  constructor(
    private readonly out: Output,
    private readonly diff: boolean,
  ) {
    this.progress = new ProgressLines(out);
  }
  playStart(play: string, hosts: string[]): void {
    this.progress.width = Math.max(4, ...hosts.map((h) => h.length));
    this.out.object({ type: "play", play, hosts });
  }
  /** Human text, so on stderr (Output.info under --json): stdout keeps only the play, task and recap objects. */
  taskProgress(e: TaskEvent & { text: string }): void {
    this.progress.line(e);
  }
  taskResult(r: TaskResult): void {
    this.progress.forget(r.host);
    const changes = r.changes.map((c) => ({
      summary: c.summary,
      diff: this.diff ? diffText(c) : undefined,
      sensitive: c.sensitive,
    }));
    this.out.object({ type: "task", ...r, changes });
  }
  playEnd(): void {}
}

/** The recap table, as Ansible users know it, plus wall time. */
export function printRecap(out: Output, recap: Map<string, HostRecap>, wallMs: number, check: boolean): void {
  const hosts = [...recap.keys()];
  const w = Math.max(4, ...hosts.map((h) => h.length));
  if (out.json) {
    // Peak memory of this process, for benchmarks (KiB -> MiB).
    out.object({
      type: "recap",
      check,
      wallSeconds: wallMs / 1000,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      hosts: Object.fromEntries(recap),
    });
    return;
  }
  out.info(`\nRECAP${check ? " (check mode: nothing was changed)" : ""}`);
  // `interrupted` only after a Ctrl-C: the table users know stays as it was otherwise.
  const columns: Array<keyof HostRecap> = ["ok", "changed", "failed", "skipped", "unreachable"];
  if ([...recap.values()].some((r) => r.interrupted > 0)) columns.push("interrupted");
  out.info(`  ${pad("host", w)}  ${columns.map((c) => pad(c, 11)).join(" ")}`);
  for (const [h, r] of recap)
    out.info(`  ${pad(h, w)}  ${columns.map((c) => pad(String(r[c]), 11)).join(" ")}`);
  out.info(`  wall time ${(wallMs / 1000).toFixed(2)} s`);
}
