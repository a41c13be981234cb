/**
 * Exit codes are a contract with CI scripts, so they live in one place.
 * 0 success, 1 a task or check failed, 2 usage or input error, 3 unreachable host(s).
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can fix: it carries the exit code and, where known, how to fix it. */
export class PowerstackError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
    readonly fix?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: inventory, vault, flags. Nothing was touched. */
export class InputError extends PowerstackError {
  constructor(message: string, fix?: string) {
    super(message, ExitCode.usage, fix);
  }
}

/** Render an error as the one clear line (plus fix) that the CLI prints. */
export function describeError(err: unknown): string {
  if (err instanceof PowerstackError) {
    return err.fix ? `${err.message}\n  fix: ${err.fix}` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
