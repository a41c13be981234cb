/**
 * Argument parsing and dispatch. Each command's code is imported only when that command runs, so
 * `powerstack --help` loads commander and nothing else.
 */
import { Command, CommanderError, Option } from "commander";
import { describeError, ExitCode, PowerstackError } from "../errors.js";
import type { GlobalOptions } from "./options.js";

type Action = (opts: GlobalOptions, cmd: Command) => Promise<number>;

function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals();
  return {
    inventory: o.inventory,
    limit: o.limit,
    check: Boolean(o.check),
    diff: Boolean(o.diff),
    json: Boolean(o.json),
    verbose: o.verbose ?? 0,
    forks: o.forks,
    vaultPasswordFile: o.vaultPasswordFile,
    yes: Boolean(o.yes),
    logDir: o.logDir,
  };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new PowerstackError(`--forks needs a whole number >= 1, got "${value}"`, ExitCode.usage);
  return n;
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command("powerstack")
    .description("Stand up an energy-measured K3s cluster on bare metal, idempotently.")
    .version("0.1.0")
    .option("-i, --inventory <file>", "inventory file", process.env.POWERSTACK_INVENTORY ?? "inventory/inventory.yaml")
    .option("--limit <hosts|groups>", "only these nodes or groups (comma-separated: node names, all, control, workers)")
    .option("--check", "probe and plan only: report what would change, change nothing")
    .option("--diff", "show each change (files as unified diffs)")
    .option("--json", "machine-readable output: one JSON object per line on stdout")
    .option("-v, --verbose", "more detail (repeat for more)", (_v: string, prev: number) => prev + 1, 0)
    .addOption(new Option("--forks <n>", "hosts worked on in parallel").default(10).argParser(positiveInt))
    .option("--vault-password-file <file>", "read the vault password from this file (or set POWERSTACK_VAULT_PASSWORD)")
    .option("--yes", "do not ask for confirmation")
    .option("--log-dir <dir>", "directory for run logs", process.env.POWERSTACK_LOG_DIR ?? "logs")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  const action = (load: () => Promise<{ run: Action }>) =>
    async function (this: Command) {
      const { run } = await load();
      onExit(await run(globalOptions(this), this));
    };

  program
    .command("up")
    .description("provision every node and the stack; a rerun changes nothing")
    .option("--only <roles>", "run only these roles (comma-separated)")
    .option("--skip <roles>", "skip these roles (comma-separated)")
    .option("--allow-format <disk>", "allow formatting this disk even though it holds a filesystem or partition table")
    .action(action(() => import("./up.js")));

  program
    .command("verify")
    .description("prove the cluster works: every check of the checklist, automated")
    .action(action(() => import("./verify.js")));

  program
    .command("teardown")
    .description("remove the stack in reverse order, keeping measured data unless --purge-data")
    .option("--purge-data", "also wipe the data filesystem (Prometheus history, Grafana state)")
    .action(action(() => import("./teardown.js")));

  program
    .command("init")
    .description("interactive wizard: write an inventory and an encrypted vault")
    .option("--from-ansible <inventory>", "import an existing Ansible inventory of a K3s cluster")
    .option("--defaults", "do not prompt: use defaults and flags (for scripts and CI)")
    .option("--output <file>", "inventory file to write", "inventory/inventory.yaml")
    .option("--vault <file>", "vault file to write", "vault/vault.yaml")
    .action(action(() => import("./init.js")));

  program
    .command("vault")
    .description("manage the encrypted vault (ansible-vault compatible)")
    .argument("<action>", "create | view | edit | encrypt | decrypt | rekey")
    .argument("[file]", "vault file", "vault/vault.yaml")
    .option("--vault-id <label>", "write a 1.2 header with this vault id")
    .option("--new-vault-password-file <file>", "rekey: the new password (otherwise prompted)")
    .option("--output <file>", "encrypt/decrypt: write here instead of in place")
    .action(action(() => import("./vault.js")));

  program
    .command("energy")
    .description("energy (J, kWh), average power and CO2 per node, namespace or pod over a window")
    .option("--since <duration>", "window ending now, e.g. 1h, 30m, 2d", "1h")
    .option("--from <time>", "window start (RFC 3339 or unix seconds)")
    .option("--to <time>", "window end (RFC 3339 or unix seconds)")
    .addOption(new Option("--by <what>", "group by").choices(["node", "namespace", "pod"]).default("node"))
    .option("--csv", "CSV output")
    .option("--prometheus <url>", "Prometheus URL (default: the control node's NodePort)")
    .action(action(() => import("./energy.js")));

  program
    .command("measure")
    .description("run a command and report the energy the cluster used while it ran, above idle")
    .addOption(new Option("--by <what>", "group by").choices(["node", "namespace", "pod"]).default("namespace"))
    .option("--prometheus <url>", "Prometheus URL (default: the control node's NodePort)")
    .argument("<command...>", "the command to run, after --")
    .action(action(() => import("./measure.js")));

  program
    .command("power")
    .description("Redfish power: status of nodes, drain and power off an idle worker, power on")
    .argument("<action>", "status | off | on")
    .argument("[nodes...]", "node names (status: default all)")
    .action(action(() => import("./power.js")));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; any other parse error is a usage error (exit 2).
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help"
        ? ExitCode.ok
        : ExitCode.usage;
    }
    process.stderr.write(`powerstack: ${describeError(err)}\n`);
    return err instanceof PowerstackError ? err.exitCode : ExitCode.failed;
  }
}
