/**
 * The module contract: facts -> plan -> apply.
 *
 *  - `reads(params)` names the facts the module needs (fact.ts); the runner reads them for this task and
 *    every later one in one round trip, from a per-host cache, and hands them to `plan` by field.
 *  - `plan(seen, params)` is pure: it returns the actions to take, as data (a discriminated union of the
 *    module's own action kinds, each with its parameters and, for files, its diff). `[]` means "ok". It
 *    may throw a PowerstackError to refuse (e.g. a disk that holds data).
 *  - `apply(ctx, actions, params)` executes the planned actions, in order, and nothing else: what is
 *    planned is exactly what runs, and check mode, --diff, the run log and teardown's confirmation list
 *    show the same actions. It gets the whole list so that it can send them in one command (kubectl apply
 *    of several objects, `systemctl enable --now`). `describe(action)` renders an action's summary line.
 *  - `touches(action)` names the facts an action changes, so only those are read again after it; a module
 *    that does not say invalidates every fact of the host (correct, only slower).
 */
import type { Host } from "../transport/host.js";
import type { FactCache } from "./fact-cache.js";
import type { Reads, Touch } from "./fact.js";
import type { Facts } from "./facts.js";

/** A file's old and new content, and the path shown in the diff header. */
export interface FileDiff {
  path: string;
  before: string;
  after: string;
}

/** One thing a module will do. Modules extend it into a union of their own kinds. */
export interface Action {
  /** Which of the module's operations: "install", "write-fstab", "unmount"... `apply` switches on it. */
  readonly kind: string;
  /** For --diff on files. */
  readonly diff?: FileDiff;
  /**
   * The diff's content holds a secret (set by the module or role that renders the file from one, never
   * guessed from the content): everything that shows or logs it gives only `(sensitive: N lines changed)`.
   */
  readonly sensitive?: boolean;
}

/** An action as it is shown and recorded: its kind, its rendered summary, its diff. */
export interface Change {
  kind?: string;
  /** Short human description: "install nfs-common", "set kernel.perf_event_paranoid=-1 (live: 2)". */
  summary: string;
  diff?: FileDiff;
  sensitive?: boolean;
}

export interface ApplyContext {
  host: Host;
  facts: Facts;
  /** The host's fact cache, for an action that must re-read a fact right before it acts. */
  cache: FactCache;
  /** Say how far a long step is (shown beside the running task on a terminal); optional to call. */
  progress?(text: string): void;
}

export interface Module<Params, Seen, A extends Action> {
  readonly name: string;
  reads(params: Params): Reads<Seen>;
  /** Pure: no I/O. May throw a PowerstackError to refuse. */
  plan(seen: Seen, params: Params): A[];
  /** The action's summary line for progress, the recap, the run log and confirmations. */
  describe(action: A, params: Params): string;
  /** The facts this action changes; "all" (the default) when it may change anything on the host. */
  touches?(action: A, params: Params): Touch[] | "all";
  apply(ctx: ApplyContext, actions: A[], params: Params): Promise<void>;
}

/** Any module, for code that handles tasks without knowing their types (the runner): `any` is what lets
 * one list hold tasks of different modules; `task()` has checked each one's params before it got there. */
export type AnyModule = Module<any, any, Action>;

export interface TaskSpec<Params, Seen, A extends Action> {
  /** Shown in progress and the recap: say what, not how ("NFS export of /mnt/data"). */
  name: string;
  module: Module<Params, Seen, A>;
  /** Checked against the module's own parameter type (a misspelt key does not compile). */
  params: NoInfer<Params>;
  /** Handlers (by name) to run at the end of the play if this task changed something. */
  notify?: string[];
  /** Skip the task (status `skipped`) unless this holds. */
  when?: (facts: Facts) => boolean;
  /** Extra attempts after a failed apply, `delaySec` apart (default 0 / 2 s). */
  retries?: number;
  delaySec?: number;
}

declare const checked: unique symbol;

/** A task whose params were checked against its module: made only by `task()`. */
export type Task = TaskSpec<any, any, Action> & { readonly [checked]: true };

/** Make a task; the compiler ties `params` to `module`'s parameter type. */
export function task<Params, Seen, A extends Action>(spec: TaskSpec<Params, Seen, A>): Task {
  return spec as unknown as Task;
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
