import { CommandError } from "./errors.js";
import type { ExecOptions, Host } from "./host.js";

/** Run a command and return its stdout; throw a CommandError (exit status, stderr tail) unless it exits 0. */
export async function run(host: Host, command: string, opts?: ExecOptions): Promise<string> {
  const r = await host.exec(command, opts);
  if (r.code !== 0) throw new CommandError(host.name, command, r.code, r.stderr);
  return r.stdout;
}
