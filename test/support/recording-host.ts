/**
 * A Host that records every command and its stdin, and answers from a script of (pattern -> result).
 * For boundary tests of what powerstack SENDS to hosts running software this environment cannot run
 * (k3s, helm). It is never used where a real host can be had.
 */
import type { ExecOptions, ExecResult, Host } from "../../src/transport/host.js";

export interface Sent {
  command: string;
  stdin?: Buffer;
}

export class RecordingHost implements Host {
  readonly sent: Sent[] = [];
  constructor(
    readonly name: string,
    private readonly answers: Array<
      [RegExp, Partial<ExecResult> | ((cmd: string) => Partial<ExecResult>)]
    > = [],
  ) {}

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.sent.push({ command, stdin: opts.stdin === undefined ? undefined : Buffer.from(opts.stdin) });
    const hit = this.answers.find(([re]) => re.test(command));
    const a = hit ? (typeof hit[1] === "function" ? hit[1](command) : hit[1]) : {};
    return { code: a.code ?? 0, stdout: a.stdout ?? "", stderr: a.stderr ?? "" };
  }

  async close(): Promise<void> {}

  /** Commands without the probe/atomic-write plumbing: what a reviewer wants to read. */
  commands(): string[] {
    return this.sent.map((s) => s.command);
  }
}
