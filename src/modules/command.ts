/**
 * A command with guards: it runs only when `creates` is missing, `removes` exists, or `unless` fails,
 * and counts as changed only when it ran. Without a guard it always runs (use it for handlers).
 */
import type { ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface CommandParams {
  cmd: string;
  /** Skip when this path exists. */
  creates?: string;
  /** Skip unless this path exists. */
  removes?: string;
  /** Skip when this read-only shell command succeeds. */
  unless?: string;
  /** Fed on stdin: secrets go here, never in `cmd`. */
  stdin?: string;
  timeoutSec?: number;
  /** What the change is, for the recap (default: the command). */
  summary?: string;
}

export const command: ShellModule<CommandParams, boolean> = {
  name: "command",
  probe: (p) => {
    const guards: string[] = [];
    if (p.creates) guards.push(`[ ! -e ${shq(p.creates)} ]`);
    if (p.removes) guards.push(`[ -e ${shq(p.removes)} ]`);
    if (p.unless) guards.push(`! ( ${p.unless} ) >/dev/null 2>&1`);
    return {
      command: guards.length ? `if ${guards.join(" && ")}; then echo run; fi` : "echo run",
      parse: (out) => out.trim() === "run",
    };
  },
  plan: (mustRun, p) => (mustRun ? [{ summary: p.summary ?? `run: ${p.cmd}` }] : []),
  async apply({ host }, p) {
    await run(host, p.cmd, { stdin: p.stdin, timeoutSec: p.timeoutSec ?? 600 });
  },
};
