/**
 * The module contract (probe -> plan -> apply) and the shapes the runner passes around.
 *
 * A probe is a read-only shell snippet plus a parser, not a function that talks to the host itself:
 * that lets the runner send the probes of many tasks as ONE remote command, so a no-op rerun costs one
 * round trip per host instead of one per task.
 */
import type { Host } from "../transport/host.js";
import type { Facts } from "./facts.js";

export interface ShellProbe<Observed> {
  /** POSIX sh, read-only. Its stdout and exit status are handed to `parse`. */
  command: string;
  parse(stdout: string, exitCode: number): Observed;
}

/** A read done from the operator's machine (e.g. HTTPS to a BMC), for modules that do not touch the node. */
export interface LocalProbe<Observed> {
  local(): Promise<Observed>;
}

export type Probe<Observed> = ShellProbe<Observed> | LocalProbe<Observed>;

/** One difference between what is and what should be; `[]` from plan means "ok, nothing to do". */
export interface Change {
  /** Short human description: "install nfs-common", "set kernel.perf_event_paranoid=-1 (live: 2)". */
  summary: string;
  /** For --diff on files: old and new content, and the path shown in the diff header. */
  diff?: { path: string; before: string; after: string };
  /**
   * The diff's content holds a secret (set by the module or role that renders the file from one, never
   * guessed from the content): everything that shows or logs it gives only `(sensitive: N lines changed)`.
   */
  sensitive?: boolean;
}

export interface ApplyContext {
  host: Host;
  facts: Facts;
}

export interface Module<Params, Observed> {
  readonly name: string;
  probe(params: Params): Probe<Observed>;
  /** Pure: no I/O. May throw a PowerstackError to refuse (e.g. a disk that holds data). */
  plan(seen: Observed, params: Params): Change[];
  apply(ctx: ApplyContext, params: Params, changes: Change[], seen: Observed): Promise<void>;
}

/** A module whose probe is a shell snippet on the node (all but the ones acting from the operator's machine). */
export interface ShellModule<Params, Observed> extends Module<Params, Observed> {
  probe(params: Params): ShellProbe<Observed>;
}

export interface Task<Params = any, Observed = any> {
  /** Shown in progress and the recap: say what, not how ("NFS export of /mnt/data"). */
  name: string;
  module: Module<Params, Observed>;
  params: Params;
  /** Handlers (by name) to run at the end of the play if this task changed something. */
  notify?: string[];
  /** Skip the task (status `skipped`) unless this holds. */
  when?: (facts: Facts) => boolean;
  /** Extra attempts after a failed apply, `delaySec` apart (default 0 / 2 s). */
  retries?: number;
  delaySec?: number;
}

/** `interrupted`: the task was running when the run was stopped (Ctrl-C, SIGTERM); its command was ended. */
export type TaskStatus = "ok" | "changed" | "skipped" | "failed" | "unreachable" | "interrupted";

export interface TaskResult {
  host: string;
  play: string;
  task: string;
  status: TaskStatus;
  changes: Change[];
  /** Failure message (with the fix, when known). */
  msg?: string;
  durationMs: number;
  handler?: boolean;
}
