/**
 * The operator's own machine as a Host: for roles that act from here (Redfish checks talk to BMCs over
 * HTTPS, not to the node's OS). Results are still reported under the node's name.
 */
import { spawn } from "node:child_process";
import type { ExecOptions, ExecResult, Host } from "./host.js";

export class LocalHost implements Host {
  constructor(readonly name: string) {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("sh", ["-c", command], {
        stdio: ["pipe", "pipe", "pipe"],
        timeout: opts.timeoutSec ? opts.timeoutSec * 1000 : undefined,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 124 : 1), stdout, stderr }));
      child.stdin.end(opts.stdin);
    });
  }

  async close(): Promise<void> {}
}
