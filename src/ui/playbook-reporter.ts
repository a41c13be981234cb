/**
 * The reporter a playbook run (`up`, `teardown`) gets: the run log's, always, beside one display chosen
 * by where output goes (--json objects, a live terminal, or plain lines for pipes and CI). The log is
 * fed by the same events whichever display runs, so its content never depends on the terminal.
 */
import type { Reporter } from "../engine/runner.js";
import { ListrReporter } from "./listr-reporter.js";
import type { Output } from "./output.js";
import { JsonReporter, PlainReporter } from "./reporters.js";
import { RunLogReporter } from "./run-log-reporter.js";
import type { RunLog } from "./run-log.js";
import { teeReporters } from "./tee-reporter.js";

export interface DisplayChoice {
  json: boolean;
  diff: boolean;
  verbose: number;
  /** stdout is a terminal that can redraw lines (and not a CI log). */
  terminal: boolean;
}

/** The display alone (no log): --json objects, listr2 progress on a terminal, or plain lines. */
export function displayReporter(out: Output, c: DisplayChoice): Reporter {
  if (c.json) return new JsonReporter(out, c.diff);
  const plain = new PlainReporter(out, c.diff, c.verbose);
  return c.terminal ? new ListrReporter(out, plain) : plain;
}

export function playbookReporter(out: Output, log: RunLog, c: DisplayChoice): Reporter {
  return teeReporters(new RunLogReporter(log), displayReporter(out, c));
}

/** What src/cli decides from the process: a terminal unless stdout is not one, or CI says it is a log. */
export const stdoutIsTerminal = (): boolean => !!process.stdout.isTTY && !process.env.CI;
