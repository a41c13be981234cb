/**
 * Ctrl-C and SIGTERM for commands that change nodes (`up`, `teardown`): the first signal asks the run to
 * stop cleanly (no new task, the running ones ended on their nodes, the recap printed, the run log closed);
 * a second one exits at once, as a user pressing Ctrl-C twice expects.
 */

/** The shell's convention: 128 + the signal's number. */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === "SIGTERM" ? 143 : 130);

export interface InterruptHooks {
  /** The first signal: start stopping (must not block; the run's own code finishes the job). */
  first(signal: NodeJS.Signals): void;
  /** Told before a second signal exits the process. */
  again?(signal: NodeJS.Signals): void;
  exit?: (code: number) => void;
  signals?: Pick<NodeJS.EventEmitter, "on" | "off">;
}

/** Install the handlers; returns the function that removes them (call it when the command ends). */
export function onInterrupt({
  first,
  again,
  exit = (code) => process.exit(code),
  signals = process,
}: InterruptHooks): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      again?.(signal);
      return exit(signalExitCode(signal));
    }
    received = true;
    first(signal);
  };
  signals.on("SIGINT", handler);
  signals.on("SIGTERM", handler);
  return () => {
    signals.off("SIGINT", handler);
    signals.off("SIGTERM", handler);
  };
}
