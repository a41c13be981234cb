/**
 * The runner: plays in order; the hosts of a play in parallel (at most `forks` at once); the tasks of a
 * host in order. Each task is probed, planned and (unless --check) applied; a no-op task costs no remote
 * command of its own because probes are batched (see probe-batch.ts) and only re-run after a change.
 */
import { describeError, PowerstackError } from "../errors.js";
import type { Host } from "../transport/host.js";
import { InterruptedError, UnreachableError } from "../transport/errors.js";
import { LocalHost } from "../transport/local-host.js";
import { gatherFacts, type Facts } from "./facts.js";
import { runProbes } from "./probe-batch.js";
import type { Change, Task, TaskResult, TaskStatus } from "./types.js";

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
  tasksFor(host: string, facts: Facts, conn: Host): HostTasks | Promise<HostTasks>;
  /** Stop every host of the play (and the run) as soon as one host fails. */
  anyErrorsFatal?: boolean;
  /** Run from the operator's machine (no SSH to the node; results still under the node's name). */
  local?: boolean;
}

export interface Reporter {
  playStart(play: string, hosts: string[]): void;
  taskResult(result: TaskResult): void;
  /** May be async: the runner waits for it before the next play (a progress display finishing). */
  playEnd(play: string): void | Promise<void>;
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
  private readonly hosts = new Map<string, Promise<{ host: Host; facts: Facts }>>();
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

  private session(name: string, local = false): Promise<{ host: Host; facts: Facts }> {
    if (local) {
      const host = new LocalHost(name);
      this.localHosts.add(host);
      return Promise.resolve({ host, facts: LOCAL_FACTS });
    }
    let s = this.hosts.get(name);
    if (!s) {
      const connection = this.opts.connect(name);
      this.connections.set(name, connection);
      s = (async () => {
        const host = await connection;
        return { host, facts: await gatherFacts(host) };
      })();
      this.hosts.set(name, s);
    }
    return s;
  }

  async runPlay(play: Play): Promise<void> {
    if (this.aborted) return;
    const hosts = play.hosts.filter((h) => !this.dead.has(h));
    this.opts.reporter.playStart(play.name, hosts);
    const queue = [...hosts];
    const worker = async () => {
      for (let h = queue.shift(); h !== undefined; h = queue.shift()) {
        if (this.aborted) return;
        await this.runHost(play, h);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.forks, hosts.length) }, worker));
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
    let session: { host: Host; facts: Facts };
    let plan: HostTasks;
    try {
      session = await this.session(name, play.local);
      plan = await play.tasksFor(name, session.facts, session.host);
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
    { host, facts }: { host: Host; facts: Facts },
    tasks: Task[],
    notified: Set<string>,
    handler: boolean,
  ): Promise<boolean> {
    const observed = new Map<number, unknown>();
    let stale = true;
    for (let i = 0; i < tasks.length; i++) {
      if (this.aborted) return false;
      const task = tasks[i]!;
      const started = Date.now();
      const base = { host: host.name, play: play.name, task: task.name, handler: handler || undefined };
      if (task.when && !task.when(facts)) {
        this.record({ ...base, status: "skipped", changes: [], durationMs: 0 });
        continue;
      }
      try {
        if (stale) {
          // Probe this task and every later one in a single round trip; valid until something changes.
          const pending = tasks
            .map((t, j) => ({ t, j }))
            .filter(({ t, j }) => j >= i && (!t.when || t.when(facts)));
          const seen = await runProbes(
            host,
            pending.map(({ t }) => t.module.probe(t.params)),
          );
          observed.clear();
          pending.forEach(({ j }, k) => observed.set(j, seen[k]));
          stale = false;
        }
        const seen = observed.get(i);
        const changes: Change[] = task.module.plan(seen, task.params);
        if (changes.length === 0) {
          this.record({ ...base, status: "ok", changes, durationMs: Date.now() - started });
          continue;
        }
        if (!this.opts.check) {
          await this.applyWithRetries(task, { host, facts }, changes, seen);
          stale = true;
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

  private async applyWithRetries(
    task: Task,
    ctx: { host: Host; facts: Facts },
    changes: Change[],
    seen: unknown,
  ): Promise<void> {
    const attempts = 1 + (task.retries ?? 0);
    for (let a = 1; ; a++) {
      try {
        await task.module.apply(ctx, task.params, changes, seen);
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
