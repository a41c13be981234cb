/**
 * A command with guards: it runs only when `creates` is missing, `removes` exists, or `unless` fails,
 * and counts as changed only when it ran. Without a guard it always runs (use it for handlers).
 */
import { defineFact, requireSuccess } from "../engine/fact.js";
import type { Module } from "../engine/types.js";
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

type Guards = Pick<CommandParams, "creates" | "removes" | "unless">;

export function guardCommand(g: Guards): string {
  const guards: string[] = [];
  if (g.creates) guards.push(`[ ! -e ${shq(g.creates)} ]`);
  if (g.removes) guards.push(`[ -e ${shq(g.removes)} ]`);
  if (g.unless) guards.push(`! ( ${g.unless} ) >/dev/null 2>&1`);
  return guards.length ? `if ${guards.join(" && ")}; then echo run; else echo skip; fi` : "echo run";
}

/** Whether the command's guards let it run. */
export const commandGuards = defineFact<boolean, Guards>({
  name: "command-guards",
  command: guardCommand,
  parse(out) {
    requireSuccess("command-guards", "the command's guards", out);
    return out.stdout.trim() === "run";
  },
});

export const command: Module<CommandParams, { mustRun: boolean }, { kind: "run" }> = {
  name: "command",
  reads: (p) => ({ mustRun: commandGuards.of({ creates: p.creates, removes: p.removes, unless: p.unless }) }),
  plan: ({ mustRun }) => (mustRun ? [{ kind: "run" }] : []),
  describe: (_a, p) => p.summary ?? `run: ${p.cmd}`,
  // An arbitrary command may change anything.
  touches: () => "all",
  async apply({ host }, _actions, p) {
    await run(host, p.cmd, { stdin: p.stdin, timeoutSec: p.timeoutSec ?? 600 });
  },
};
