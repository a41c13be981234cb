/**
 * Run a playbook (`up`, `teardown`) against the inventory: the plays and hosts the command selected
 * (engine/playbook.ts selectRun), each host's tasks from its roles, run, the recap printed, and the
 * results turned into the exit code.
 */
import { ExitCode } from "../errors.js";
import type { RunSelection } from "../engine/playbook.js";
import { runPlays } from "../engine/run-plays.js";
import { Runner, type Reporter } from "../engine/runner.js";
import { nodeConnector } from "../transport/connect-node.js";
import { playbookReporter, stdoutIsTerminal } from "../ui/playbook-reporter.js";
import { printRecap } from "../ui/reporters.js";
import type { RunContext } from "./context.js";
import { onInterrupt, signalExitCode } from "./interrupts.js";

export interface PlaybookOptions {
  /** `up --allow-format`: the block device the storage role may format. */
  allowFormat?: string;
}

/** The run log (fed by the engine's events, the same whatever the display) and the display. */
function chooseReporter(ctx: RunContext): Reporter {
  const { out, log, opts } = ctx;
  return playbookReporter(out, log, {
    json: opts.json,
    diff: opts.diff,
    verbose: opts.verbose,
    terminal: stdoutIsTerminal(),
  });
}

export async function runPlaybook(
  ctx: RunContext,
  { plays, limit }: RunSelection,
  po: PlaybookOptions = {},
): Promise<number> {
  const started = Date.now();
  const { inventory: inv, opts } = ctx;
  const connectTo = nodeConnector(inv, ctx.secret);

  const runner = new Runner({
    check: opts.check,
    forks: opts.forks,
    reporter: chooseReporter(ctx),
    connect: (host) => connectTo(inv.nodes.find((n) => n.name === host)!),
  });
  // Ctrl-C / SIGTERM: stop cleanly (see interrupts.ts); the recap and the run log still get written.
  let stopping: Promise<unknown> | undefined;
  const uninstall = onInterrupt({
    first: (signal) => {
      ctx.out.error(
        `\n${signal}: stopping: no new task starts, running commands are being ended on their nodes (again to exit at once)`,
      );
      stopping = Promise.all([
        runner.interrupt(signal),
        // BMC sessions of the Redfish play: a BMC allows few, and one left open per interrupted run fills them.
        import("../redfish/client.js").then((m) => m.closeAllSessions()),
      ]);
    },
    again: (signal) => {
      ctx.out.error(`${signal} again: exiting now; commands may still be running on the nodes`);
      ctx.log.write("interrupted", { signal, forced: true });
      ctx.log.close();
    },
  });
  try {
    await runPlays(
      runner,
      plays,
      inv,
      {
        allowFormat: po.allowFormat,
        secret: ctx.secret,
        hasSecret: (k) => ctx.vault?.has(k) ?? false,
        storeSecret: async (k, v) => {
          ctx.redactor.add(v);
          if (opts.check || !ctx.vault) return;
          ctx.vault.set(k, v);
          await ctx.vault.save();
        },
      },
      limit,
    );
  } finally {
    await stopping;
    await runner.close();
    uninstall();
  }
  const recap = runner.recap();
  printRecap(ctx.out, recap, Date.now() - started, opts.check);
  ctx.log.write("recap", { hosts: Object.fromEntries(recap), wallMs: Date.now() - started });
  const signal = runner.interrupted as NodeJS.Signals | undefined;
  if (signal) {
    const tasks = runner.results.filter((r) => r.status === "interrupted").map((r) => `${r.host}: ${r.task}`);
    ctx.log.write("interrupted", { signal, tasks });
    ctx.out.error(
      `interrupted by ${signal}: ${tasks.length ? tasks.join("; ") : "between tasks"}; rerun to converge`,
    );
    return signalExitCode(signal);
  }
  const rows = [...recap.values()];
  if (rows.some((r) => r.unreachable > 0)) return ExitCode.unreachable;
  if (rows.some((r) => r.failed > 0)) return ExitCode.failed;
  return ExitCode.ok;
}
