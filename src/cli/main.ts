/**
 * Argument parsing and dispatch. Each command's code is imported only when that command runs, so
 * `powerstack --help` loads commander and nothing else.
 */
import { Command, CommanderError, Option } from "commander";
import { describeError, ExitCode, PowerstackError } from "../errors.js";
import type { GlobalOptions } from "./options.js";

type Action = (opts: GlobalOptions, cmd: Command) => Promise<number>;

/** Commands whose run context (src/cli/context.ts) writes the run log itself. */
const OWN_RUN_LOG = new Set(["up", "verify", "teardown", "power"]);

/** Where energy and measure find Prometheus and how they price what it says. */
function prometheusOptions(cmd: Command): void {
  cmd
    .option(
      "--prometheus <url>",
      "Prometheus URL (default: the control node's NodePort); no inventory needed with it",
    )
    .addOption(
      new Option(
        "--kepler <flavour>",
        "Kepler line (default: the inventory's cluster.kepler.flavour, else current)",
      ).choices(["current", "legacy"]),
    )
    .option(
      "--grid-intensity <gPerKwh>",
      "grid carbon intensity in gCO2e/kWh (default: the inventory's, else 475, IEA 2019 world average)",
    );
}

async function openCommandLog(dir: string, cmd: Command) {
  const [{ RunLog }, { Redactor }] = await Promise.all([
    import("../ui/run-log.js"),
    import("../ui/redact.js"),
  ]);
  const log = new RunLog(dir, cmd.name(), new Redactor());
  // Arguments only: passwords come from files, the environment or prompts, never from argv.
  log.write("start", { command: cmd.name(), args: cmd.args });
  return log;
}

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
  if (!Number.isInteger(n) || n < 1)
    throw new PowerstackError(`--forks needs a whole number >= 1, got "${value}"`, ExitCode.usage);
  return n;
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command("powerstack")
    .description("Stand up an energy-measured K3s cluster on bare metal, idempotently.")
    .version("0.1.0")
    .option(
      "-i, --inventory <file>",
      "inventory file",
      process.env.POWERSTACK_INVENTORY ?? "inventory/inventory.yaml",
    )
    .option(
      "--limit <hosts|groups>",
      "only these nodes or groups (comma-separated: node names, all, control, workers)",
    )
    .option("--check", "probe and plan only: report what would change, change nothing")
    .option("--diff", "show each change (files as unified diffs)")
    .option("--json", "machine-readable output: one JSON object per line on stdout")
    .option("-v, --verbose", "more detail (repeat for more)", (_v: string, prev: number) => prev + 1, 0)
    .addOption(new Option("--forks <n>", "hosts worked on in parallel").default(10).argParser(positiveInt))
    .option(
      "--vault-password-file <file>",
      "read the vault password from this file (or set POWERSTACK_VAULT_PASSWORD)",
    )
    .option("--yes", "do not ask for confirmation")
    .option("--log-dir <dir>", "directory for run logs", process.env.POWERSTACK_LOG_DIR ?? "logs")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  const action = (load: () => Promise<{ run: Action }>) =>
    async function (this: Command) {
      const opts = globalOptions(this);
      // Commands that open a run context (inventory + vault) log there, with every secret known to the
      // redactor; the others get a start/end record here, so every run leaves a log.
      const log = OWN_RUN_LOG.has(this.name()) ? undefined : await openCommandLog(opts.logDir, this);
      try {
        const { run } = await load();
        const code = await run(opts, this);
        log?.write("end", { exitCode: code });
        onExit(code);
      } catch (err) {
        log?.write("end", {
          exitCode: err instanceof PowerstackError ? err.exitCode : ExitCode.failed,
          error: describeError(err),
        });
        throw err;
      } finally {
        log?.close();
      }
    };

  program
    .command("up")
    .description("provision every node and the stack; a rerun changes nothing")
    .option("--only <roles>", "run only these roles (comma-separated)")
    .option("--skip <roles>", "skip these roles (comma-separated)")
    .option(
      "--allow-format <disk>",
      "allow formatting this disk even though it holds a filesystem or partition table",
    )
    .option("--playbook <file>", "run this playbook instead of the built-in playbooks/up.yaml")
    .action(action(() => import("./up.js")));

  program
    .command("verify")
    .description("prove the cluster works: every check of the checklist, automated")
    .option(
      "--prometheus <url>",
      "Prometheus URL (default: the control node's external_ip at cluster.node_ports.prometheus)",
    )
    .addHelpText(
      "after",
      "\nNodes over SSH (kernel, storage, NFS, K3s units, an NFS round trip), the cluster through kubectl on the\n" +
        "control node (nodes, pods, volumes), each BMC over Redfish, Kepler in Prometheus, and a Grafana login.\n" +
        "A table, or one JSON object per check and a summary with --json. Exit code: 0 all pass, 1 a check\n" +
        "failed, 3 a node or service could not be reached.",
    )
    .action(action(() => import("./verify.js")));

  program
    .command("teardown")
    .description("remove the stack in reverse order, keeping measured data unless --purge-data")
    .option("--purge-data", "also wipe the data filesystem (Prometheus history, Grafana state)")
    .option("--only <roles>", "run only these teardown roles (comma-separated; `storage` = teardown-storage)")
    .option("--skip <roles>", "skip these teardown roles (comma-separated)")
    .option("--playbook <file>", "run this playbook instead of the built-in playbooks/teardown.yaml")
    .addHelpText(
      "after",
      "\n  Reverse order of up: Helm releases, volumes and namespaces, K3s agents then server (their uninstall\n" +
        "  scripts), NFS mounts, the NFS export, the data mount, the sysctl drop-in. The data on the disk stays\n" +
        "  unless --purge-data. Asks once before acting unless --yes (without a terminal, --yes is required);\n" +
        "  --check lists what would be removed and changes nothing.",
    )
    .action(action(() => import("./teardown.js")));

  program
    .command("init")
    .description("interactive wizard: write an inventory and an encrypted vault")
    .option(
      "--from-ansible <inventory>",
      "import an existing Ansible YAML inventory of a K3s cluster; ask only for what it lacks",
    )
    .option(
      "--defaults",
      "do not prompt: use defaults, flags and POWERSTACK_* variables (for scripts and CI)",
    )
    .option(
      "--output <file>",
      "inventory file to write (default: the -i inventory)",
      "inventory/inventory.yaml",
    )
    .option("--vault <file>", "vault file to write", "vault/vault.yaml")
    .option(
      "--node <key=value,...>",
      "a node, e.g. name=node1,role=control,internal_ip=10.0.0.11,storage_disk=/dev/sdb,bmc.address=https://10.0.1.11,bmc.username=admin (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--set <key=value>",
      "any inventory key, e.g. cluster.nfs_network=10.0.0.0/24 or nodes[0].external_ip=192.0.2.11 (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .addHelpText(
      "after",
      "\nSecrets with --defaults come from the environment: POWERSTACK_GRAFANA_ADMIN_PASSWORD, POWERSTACK_BMC_PASSWORD\n" +
        "(or POWERSTACK_BMC_PASSWORD_<NODE>), POWERSTACK_SLACK_WEBHOOK, POWERSTACK_K3S_TOKEN (unset or `generate`: generated),\n" +
        "POWERSTACK_BECOME_PASSWORD; the vault password from --vault-password-file or POWERSTACK_VAULT_PASSWORD.",
    )
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
    .action(action(() => import("./energy.js")));
  prometheusOptions(program.commands.at(-1)!);

  program
    .command("measure")
    .description("run a command and report the energy the cluster used while it ran, above idle")
    .addOption(
      new Option("--by <what>", "group by").choices(["node", "namespace", "pod"]).default("namespace"),
    )
    .option("--csv", "CSV output")
    .option(
      "--scrape-interval <duration>",
      "how long after the command to wait for the last scrape (default: the inventory's monitoring scrape_interval, else 30s)",
    )
    .argument("<command...>", "the command to run, after --")
    .action(action(() => import("./measure.js")));
  prometheusOptions(program.commands.at(-1)!);

  program
    .command("power")
    .description("Redfish power: status of nodes, drain and power off an idle worker, power on")
    .argument("<action>", "status | off | on")
    .argument("[nodes...]", "node names (status: default all, or --limit; off/on: exactly one)")
    .option(
      "--drain-timeout <seconds>",
      "off: give up evicting pods after this long (the node is uncordoned again)",
      "300",
    )
    .option(
      "--wait-timeout <seconds>",
      "off/on: bound on reaching the power state and, for on, the node becoming Ready",
    )
    .addHelpText(
      "after",
      "\n  off: refuses the control node; cordon, drain, Redfish GracefulShutdown, wait for Off.\n" +
        "  on:  Redfish On, wait for the node to be Ready, uncordon.\n" +
        "  --check prints what would be done and changes nothing.",
    )
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
      return err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
        ? ExitCode.ok
        : ExitCode.usage;
    }
    process.stderr.write(`powerstack: ${describeError(err)}\n`);
    return err instanceof PowerstackError ? err.exitCode : ExitCode.failed;
  }
}
