/**
 * The runner: plays in order; the hosts of a play in parallel (at most `forks` at once); the tasks of a
 * host in order. Each task's facts are read, its actions planned and (unless --check) applied; a no-op task
 * costs no remote command of its own because facts are read in batches from a per-host cache (see
 * fact-cache.ts) and only the facts an applied action touches are read again.
 */
import { describeError, PowerstackError } from "../errors.js";
import type { Host } from "../transport/host.js";
import { InterruptedError, UnreachableError } from "../transport/errors.js";
import { LocalHost } from "../transport/local-host.js";
import type { FactRef, Touch } from "./fact.js";
import { FactCache } from "./fact-cache.js";
import { hostFacts, type Facts } from "./facts.js";
import { forEachLimited } from "./pool.js";
import type { Action, ApplyContext, Change, Task, TaskResult, TaskStatus } from "./types.js";

/** What a task's result shows of an action: its kind, the module's summary of it, its diff. */
export function toChange(task: Task, action: Action): Change {
  return {
    kind: action.kind,
    summary: task.module.describe(action, task.params),
    ...(action.diff ? { diff: action.diff } : {}),
    ...(action.sensitive ? { sensitive: true } : {}),
  };
}

/** A task's reads, field by field (a field without a fact reads as undefined). */
const factsOf = (t: Task) =>
  Object.entries(t.module.reads(t.params)) as Array<[string, FactRef<unknown> | undefined]>;

/** Drop the facts the actions could have changed (all of the host's, where a module does not say). */
function invalidateAfter(cache: FactCache, task: Task, actions: Action[]): void {
  const touched = actions.map((a) => task.module.touches?.(a, task.params) ?? "all");
  cache.invalidate(touched.includes("all") ? undefined : (touched as Touch[][]).flat());
}

/** One host's connection, its facts and its fact cache, kept for the whole run. */
interface Session {
  host: Host;
  facts: Facts;
  cache: FactCache;
}

/** Facts of a local play: none about the node (its OS is not contacted). */
const LOCAL_FACTS: Facts = {
  hostname: "",
  os: { id: "local", versionId: "", prettyName: "operator machine", family: "other" },
  arch: "",
  kernel: "",
  init: "",
  memTotalKb: 0,
  blockDevices: [],
  interfaces: [],
};

export interface HostTasks {
  tasks: Task[];
  /** Handlers by name, run once at the end of the play, in this order, if a task notified them. */
  handlers?: Array<Task & { name: string }>;
}

export interface Play {
  name: string;
  /** Node names this play runs on, after --limit. */
  hosts: string[];
  /** Build the task list for one host; called when the play reaches that host, after earlier plays. */
  tasksFor(host: string, facts: Facts, cache: FactCache): HostTasks | Promise<HostTasks>;
  /** Stop every host of the play (and the run) as soon as one host fails. */
  anyErrorsFatal?: boolean;
  /** Run from the operator's machine (no SSH to the node; results still under the node's name). */
  local?: boolean;
}

export interface Reporter {
  playStart(play: string, hosts: string[]): void;
  /** A task begins on a host (its facts are read, then plan and apply); its result comes through taskResult. */
  taskStart?(event: TaskEvent): void;
  /** A long step of a running task says how far it is ("12 of 40 MB", "2 of 3 nodes Ready"). */
  taskProgress?(event: TaskEvent & { text: string }): void;
  taskResult(result: TaskResult): void;
  /** May be async: the runner waits for it before the next play (a progress display finishing). */
  playEnd(play: string): void | Promise<void>;
}

export interface TaskEvent {
  host: string;
  play: string;
  task: string;
  handler?: boolean;
}

export interface RunnerOptions {
  check: boolean;
  forks: number;
  /** Open a connection to a node (the runner keeps it for the whole run). */
  connect(host: string): Promise<Host>;
  reporter: Reporter;
}

export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  interrupted: number;
}

export class Runner {
  readonly results: TaskResult[] = [];
  private readonly hosts = new Map<string, Promise<Session>>();
  /** Every connection opened, kept apart from its facts: one whose fact gathering failed must close too. */
  private readonly connections = new Map<string, Promise<Host>>();
  /** Hosts that failed or were unreachable: later plays skip them, as Ansible does. */
  private readonly dead = new Map<string, TaskStatus>();
  private aborted = false;
  /** Why the run was stopped from outside (the signal's name), once it was. */
  private interruptedBy: string | undefined;
  /** Hosts of local plays (the operator's machine), kept so an interrupt can stop their commands too. */
  private readonly localHosts = new Set<LocalHost>();

  constructor(private readonly opts: RunnerOptions) {}

  get interrupted(): string | undefined {
    return this.interruptedBy;
  }

  /**
   * Stop the run from outside (Ctrl-C, SIGTERM): no task starts from now on, and the commands running on
   * every node are ended there (see SshHost.stopRunning). The tasks they belonged to are recorded
   * `interrupted`; runPlay returns once they have. Resolves when every running command has ended.
   */
  async interrupt(reason: string): Promise<void> {
    if (this.interruptedBy) return;
    this.interruptedBy = reason;
    this.aborted = true;
    const hosts = [
      ...[...this.connections.values()].map((c) => c.catch(() => undefined)),
      ...[...this.localHosts].map((h) => Promise.resolve(h)),
    ];
    await Promise.all(hosts.map(async (h) => (await h)?.stopRunning?.()));
  }

  /** The status of a task or host that ended in this error. */
  private statusOf(err: unknown): TaskStatus {
    if (err instanceof InterruptedError || this.interruptedBy) return "interrupted";
    return err instanceof UnreachableError ? "unreachable" : "failed";
  }

  private session(name: string, local = false): Promise<Session> {
    if (local) {
      const host = new LocalHost(name);
      this.localHosts.add(host);
      return Promise.resolve({ host, facts: LOCAL_FACTS, cache: new FactCache(host) });
    }
    let s = this.hosts.get(name);
    if (!s) {
      const connection = this.opts.connect(name);
      this.connections.set(name, connection);
      s = (async () => {
        const host = await connection;
        const cache = new FactCache(host);
        await cache.read([hostFacts.of()]);
        return { host, facts: cache.get(hostFacts.of()), cache };
      })();
      this.hosts.set(name, s);
    }
    return s;
  }

  async runPlay(play: Play): Promise<void> {
    if (this.aborted) return;
    const hosts = play.hosts.filter((h) => !this.dead.has(h));
    this.opts.reporter.playStart(play.name, hosts);
    await forEachLimited(hosts, this.opts.forks, async (h) => {
      if (!this.aborted) await this.runHost(play, h);
    });
    await this.opts.reporter.playEnd(play.name);
  }

  private record(r: TaskResult): void {
    this.results.push(r);
    this.opts.reporter.taskResult(r);
    if (r.status === "failed" || r.status === "unreachable" || r.status === "interrupted")
      this.dead.set(r.host, r.status);
  }

  private async runHost(play: Play, name: string): Promise<void> {
    const started = Date.now();
    let session: Session;
    let plan: HostTasks;
    try {
      session = await this.session(name, play.local);
      plan = await play.tasksFor(name, session.facts, session.cache);
    } catch (err) {
      const status = this.statusOf(err);
      this.record({
        host: name,
        play: play.name,
        task: status === "unreachable" ? "connect" : "prepare tasks",
        status,
        changes: [],
        msg: describeError(err),
        durationMs: Date.now() - started,
      });
      if (play.anyErrorsFatal) this.aborted = true;
      return;
    }
    const notified = new Set<string>();
    const ok = await this.runTasks(play, session, plan.tasks, notified, false);
    if (!ok) {
      if (play.anyErrorsFatal) this.aborted = true;
      return;
    }
    const handlers = (plan.handlers ?? []).filter((h) => notified.has(h.name));
    if (
      handlers.length > 0 &&
      !(await this.runTasks(play, session, handlers, notified, true)) &&
      play.anyErrorsFatal
    ) {
      this.aborted = true;
    }
  }

  /** Run tasks in order on one host; false when one failed (the rest are not run). */
  private async runTasks(
    play: Play,
    session: Session,
    tasks: Task[],
    notified: Set<string>,
    handler: boolean,
  ): Promise<boolean> {
    const { host, facts, cache } = session;
    for (let i = 0; i < tasks.length; i++) {
      if (this.aborted) return false;
      const task = tasks[i]!;
      const started = Date.now();
      const base = { host: host.name, play: play.name, task: task.name, handler: handler || undefined };
      if (task.when && !task.when(facts)) {
        this.record({ ...base, status: "skipped", changes: [], durationMs: 0 });
        continue;
      }
      this.opts.reporter.taskStart?.(base);
      try {
        const reads = factsOf(task);
        if (reads.some(([, ref]) => ref && !cache.has(ref))) {
          // What this task and every later one still needs, in a single round trip; cached until an
          // action touches it.
          const pending = tasks
            .slice(i)
            .filter((t) => !t.when || t.when(facts))
            .flatMap((t) => factsOf(t).flatMap(([, ref]) => (ref ? [ref] : [])));
          // A later task's unreadable fact fails that task when it comes, not this one: it stays uncached.
          const failed = new Map<string, unknown>();
          await cache.read(pending, failed);
          for (const [, ref] of reads) if (ref && failed.has(ref.key)) throw failed.get(ref.key);
        }
        const seen = Object.fromEntries(reads.map(([field, ref]) => [field, ref && cache.get(ref)]));
        const actions: Action[] = task.module.plan(seen, task.params);
        const changes = actions.map((a) => toChange(task, a));
        if (actions.length === 0) {
          this.record({ ...base, status: "ok", changes, durationMs: Date.now() - started });
          continue;
        }
        if (!this.opts.check) {
          const progress = (text: string) => this.opts.reporter.taskProgress?.({ ...base, text });
          await this.applyWithRetries(task, { host, facts, cache, progress }, actions);
        }
        for (const n of task.notify ?? []) notified.add(n);
        this.record({ ...base, status: "changed", changes, durationMs: Date.now() - started });
      } catch (err) {
        const status = this.statusOf(err);
        this.record({
          ...base,
          status,
          changes: [],
          msg: describeError(err),
          durationMs: Date.now() - started,
        });
        return false;
      }
    }
    return true;
  }

  private async applyWithRetries(task: Task, ctx: ApplyContext, actions: Action[]): Promise<void> {
    const attempts = 1 + (task.retries ?? 0);
    for (let a = 1; ; a++) {
      try {
        await task.module.apply(ctx, actions, task.params);
        return;
      } catch (err) {
        // Refusals and lost connections are final; only ordinary failures are retried.
        if (
          a >= attempts ||
          this.interruptedBy ||
          err instanceof UnreachableError ||
          (err instanceof PowerstackError && err.exitCode === 2)
        )
          throw err;
        await new Promise((r) => setTimeout(r, (task.delaySec ?? 2) * 1000));
      } finally {
        // Even a failed apply may have changed something before it failed.
        invalidateAfter(ctx.cache, task, actions);
      }
    }
  }

  recap(): Map<string, HostRecap> {
    const recap = new Map<string, HostRecap>();
    for (const r of this.results) {
      const row = recap.get(r.host) ?? {
        ok: 0,
        changed: 0,
        failed: 0,
        skipped: 0,
        unreachable: 0,
        interrupted: 0,
      };
      row[r.status]++;
      recap.set(r.host, row);
    }
    return recap;
  }

  /** Close every connection, whatever failed after it opened (an open SSH connection keeps node alive). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.connections.values()].map(async (c) => {
        try {
          await (await c).close();
        } catch {
          /* a host that never connected has nothing to close */
        }
      }),
    );
  }
}
