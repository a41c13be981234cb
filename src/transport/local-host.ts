/**
 * The operator's own machine as a Host: for roles that act from here (Redfish checks talk to BMCs over
 * HTTPS, not to the node's OS). Results are still reported under the node's name.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { InterruptedError } from "./errors.js";
import { settlesWithin, STOP_GRACE_MS, type ExecOptions, type ExecResult, type Host } from "./host.js";

export class LocalHost implements Host {
  /** Commands in flight, each the leader of its own process group (so a stop reaches its children). */
  private readonly running = new Set<ChildProcess>();
  private stopping: Promise<void> | undefined;

  constructor(readonly name: string) {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.stopping) return Promise.reject(new InterruptedError(this.name, "not started"));
    return new Promise((resolve, reject) => {
      const child = spawn("sh", ["-c", command], {
        stdio: ["pipe", "pipe", "pipe"],
        timeout: opts.timeoutSec ? opts.timeoutSec * 1000 : undefined,
        // A group of its own: the terminal's Ctrl-C reaches powerstack only, which then stops the group.
        detached: true,
      });
      this.running.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code, signal) => {
        this.running.delete(child);
        if (this.stopping && code !== 0) reject(new InterruptedError(this.name, "command stopped"));
        else resolve({ code: code ?? (signal ? 124 : 1), stdout, stderr });
      });
      child.stdin.end(opts.stdin);
    });
  }

  stopRunning(): Promise<void> {
    this.stopping ??= (async () => {
      const children = [...this.running];
      const gone = Promise.all(children.map((c) => new Promise((r) => c.once("close", r))));
      const signal = (sig: NodeJS.Signals) => {
        for (const c of children) {
          try {
            if (c.pid) process.kill(-c.pid, sig);
          } catch {
            /* already gone */
          }
        }
      };
      signal("SIGTERM");
      if (!(await settlesWithin(gone, STOP_GRACE_MS))) signal("SIGKILL");
    })();
    return this.stopping;
  }

  async close(): Promise<void> {}
}
