/**
 * Dispatch: parse argv against the command table, print help or the version, or run the command with
 * a run log. Each command's code is imported only when that command runs.
 */
import { describeError, ExitCode, PowerstackError } from "../errors.js";
import { parseCommandLine, type CommandSpec, type ParsedCommand } from "./argv.js";
import { PROGRAM } from "./commands.js";
import type { GlobalOptions } from "./options.js";

export async function main(argv: string[]): Promise<number> {
  try {
    const line = parseCommandLine(argv, PROGRAM);
    if (line.kind === "version") {
      process.stdout.write(`${PROGRAM.version}\n`);
      return ExitCode.ok;
    }
    if (line.kind === "help") {
      const { programHelp, commandHelp } = await import("./help.js");
      process.stdout.write(line.command ? commandHelp(PROGRAM, line.command) : programHelp(PROGRAM));
      return ExitCode.ok;
    }
    return await runCommand(line.command, line.globals, line.parsed);
  } catch (err) {
    process.stderr.write(`powerstack: ${describeError(err)}\n`);
    return err instanceof PowerstackError ? err.exitCode : ExitCode.failed;
  }
}

async function runCommand(command: CommandSpec, opts: GlobalOptions, parsed: ParsedCommand): Promise<number> {
  // Commands that open a run context (inventory + vault) log there, with every secret known to the
  // redactor; the others get a start/end record here, so every run leaves a log.
  const log = command.ownRunLog ? undefined : await openCommandLog(opts.logDir, parsed);
  // Commands that talk to BMCs log their Redfish sessions out on Ctrl-C / SIGTERM before exiting (130/143):
  // a BMC allows few sessions (XCC: 16), and one left open per interrupted run fills them.
  const uninstall = REDFISH_COMMANDS.has(command.name)
    ? (await import("../redfish/client.js")).closeSessionsOnSignal()
    : undefined;
  try {
    const { run } = await command.load();
    const code = await run(opts, parsed);
    log?.write("end", { exitCode: code });
    return code;
  } catch (err) {
    log?.write("end", {
      exitCode: err instanceof PowerstackError ? err.exitCode : ExitCode.failed,
      error: describeError(err),
    });
    throw err;
  } finally {
    uninstall?.();
    log?.close();
  }
}

// `up` is not here: its playbook run handles the signals itself (src/cli/run-playbook.ts), BMC sessions included.
const REDFISH_COMMANDS = new Set(["verify", "power"]);

async function openCommandLog(dir: string, parsed: ParsedCommand) {
  const [{ RunLog }, { Redactor }] = await Promise.all([
    import("../ui/run-log.js"),
    import("../ui/redact.js"),
  ]);
  const log = new RunLog(dir, parsed.name, new Redactor());
  // Arguments only: passwords come from files, the environment or prompts, never from argv.
  log.write("start", { command: parsed.name, args: parsed.rawArgs });
  return log;
}
