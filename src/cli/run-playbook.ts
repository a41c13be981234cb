/**
 * Run a playbook (`up`, `teardown`) against the inventory: select hosts (--limit), build each host's
 * tasks from its roles, run them, print the recap, and turn the results into the exit code.
 */
import { join } from "node:path";
import { ExitCode } from "../errors.js";
import { filterRoles, limitHosts, loadPlaybook } from "../engine/playbook.js";
import { runPlays } from "../engine/run-plays.js";
import { Runner, type Reporter } from "../engine/runner.js";
import { packageRoot } from "../package-root.js";
import { SshHost } from "../transport/ssh-host.js";
import { setUploadProgressSink } from "../transport/upload.js";
import { ListrReporter } from "../ui/listr-reporter.js";
import { JsonReporter, PlainReporter, printRecap } from "../ui/reporters.js";
import type { RunContext } from "./context.js";
import { onInterrupt, signalExitCode } from "./interrupts.js";

export interface PlaybookOptions {
  only?: string[];
  skip?: string[];
  allowFormat?: string;
  /** Playbook file; default `playbooks/<name>.yaml` of the package. */
  file?: string;
}

function chooseReporter(ctx: RunContext): Reporter {
  const { out, log, opts } = ctx;
  if (opts.json) return new JsonReporter(out, log, opts.diff);
  const plain = new PlainReporter(out, log, opts.diff, opts.verbose);
  return process.stdout.isTTY && !process.env.CI ? new ListrReporter(out, plain) : plain;
}

export async function runPlaybook(ctx: RunContext, name: string, po: PlaybookOptions = {}): Promise<number> {
  const started = Date.now();
  const { inventory: inv, opts } = ctx;
  const plays = filterRoles(
    loadPlaybook(po.file ?? join(packageRoot(), "playbooks", `${name}.yaml`)),
    po.only,
    po.skip,
  );
  const limit = limitHosts(inv, opts.limit);
  const becomePassword = inv.ssh.becomePasswordSecret ? ctx.secret(inv.ssh.becomePasswordSecret) : undefined;
  // Upload progress (air-gap artifacts) is output like any other line: redacted, stderr under --json.
  setUploadProgressSink((line) => ctx.out.info(line));

  const runner = new Runner({
    check: opts.check,
    forks: opts.forks,
    reporter: chooseReporter(ctx),
    connect: (host) => {
      const node = inv.nodes.find((n) => n.name === host)!;
      return SshHost.connect({ name: node.name, address: node.sshAddress, port: node.sshPort }, inv.ssh, {
        becomePassword,
      });
    },
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
        check: opts.check,
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
