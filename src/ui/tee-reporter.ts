/**
 * One stream of engine events, several listeners: the run log and the screen each get every event, so
 * neither depends on the other (the log is the same whichever display the terminal chose).
 */
import type { Reporter } from "../engine/runner.js";

/** A Reporter that hands every event to each of `reporters`, in the order given. */
export function teeReporters(...reporters: Reporter[]): Reporter {
  return {
    playStart(play, hosts) {
      for (const r of reporters) r.playStart(play, hosts);
    },
    taskStart(event) {
      for (const r of reporters) r.taskStart?.(event);
    },
    taskProgress(event) {
      for (const r of reporters) r.taskProgress?.(event);
    },
    taskResult(result) {
      for (const r of reporters) r.taskResult(result);
    },
    // In order, each awaited: a display finishing (listr) must not race the next reporter's lines.
    async playEnd(play) {
      for (const r of reporters) await r.playEnd(play);
    },
  };
}
