import { ExitCode, PowerstackError } from "../errors.js";

/** The host could not be reached or the connection died: the run counts it `unreachable` (exit 3). */
export class UnreachableError extends PowerstackError {
  constructor(
    readonly host: string,
    message: string,
    fix?: string,
    /** False for faults a retry cannot cure: bad key, host key mismatch, unknown name. */
    readonly retryable = true,
  ) {
    super(`${host}: ${message}`, ExitCode.unreachable, fix);
  }
}

/** A command ran and failed: exit status and the tail of stderr, secrets already redacted by the caller. */
export class CommandError extends PowerstackError {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly code: number,
    readonly stderr: string,
  ) {
    const tail = stderr.trim().split("\n").slice(-5).join("\n    ");
    super(
      `${host}: command failed (exit ${code}): ${command.length > 200 ? command.slice(0, 200) + "…" : command}${tail ? `\n    ${tail}` : ""}`,
    );
  }
}

/**
 * The run was interrupted (Ctrl-C, SIGTERM): the command was stopped on the node, or never started because
 * the connection had been told to start nothing new. The runner records the task `interrupted`.
 */
export class InterruptedError extends PowerstackError {
  constructor(
    readonly host: string,
    what: string,
  ) {
    super(`${host}: interrupted: ${what}`, ExitCode.failed, "rerun: completed tasks are not repeated");
  }
}
