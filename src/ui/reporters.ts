/**
 * How task results reach the user: plain lines (pipes, CI logs), one JSON object per result (--json), or
 * listr2 progress (a terminal). All three see the same events; every line passes the Redactor via Output.
 */
import { diffText } from "../engine/diff.js";
import type { HostRecap, Reporter } from "../engine/runner.js";
import type { TaskResult } from "../engine/types.js";
import type { Output } from "./output.js";
import type { RunLog } from "./run-log.js";

const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - s.length));

export class PlainReporter implements Reporter {
  private width = 8;
  constructor(
    private readonly out: Output,
    private readonly log: RunLog | undefined,
    private readonly diff: boolean,
    private readonly verbose: number,
  ) {}

  playStart(play: string, hosts: string[]): void {
    this.width = Math.max(4, ...hosts.map((h) => h.length));
    this.out.info(`\nPLAY [${play}] ${hosts.join(", ") || "(no hosts)"}`);
    this.log?.write("play", { play, hosts });
  }

  taskResult(r: TaskResult): void {
    this.log?.write("task", { ...r });
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
  constructor(
    private readonly out: Output,
    private readonly log: RunLog | undefined,
    private readonly diff: boolean,
  ) {}
  playStart(play: string, hosts: string[]): void {
    this.log?.write("play", { play, hosts });
    this.out.object({ type: "play", play, hosts });
  }
  taskResult(r: TaskResult): void {
    this.log?.write("task", { ...r });
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
