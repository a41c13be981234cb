/**
 * The argv the energy tests share: no inventory (Prometheus is named on the command line), a window as
 * `--from/--to`, and `powerstack [--json] energy --prometheus URL ...` run in-process.
 */
import { powerstackInProcess, type CliResult } from "./cli.js";

/** An inventory path that does not exist: every setting must come from the flags. */
export const NO_INVENTORY = ["-i", "/nonexistent/powerstack-test/inventory.yaml"];

export const window = (w: { from: number; to: number }) => ["--from", String(w.from), "--to", String(w.to)];

/** `powerstack -i NO_INVENTORY [--json] energy --prometheus URL ...more`, in-process. */
export function energyAt(
  prometheus: string,
  more: string[],
  opts: { json?: boolean } = {},
): Promise<CliResult> {
  return powerstackInProcess([
    ...NO_INVENTORY,
    ...(opts.json ? ["--json"] : []),
    "energy",
    "--prometheus",
    prometheus,
    ...more,
  ]);
}

/** `-i NO_INVENTORY measure --prometheus URL ...more`: the argv of `measure` against a test Prometheus. */
export const measureArgs = (prometheus: string, ...more: string[]) => [
  ...NO_INVENTORY,
  "measure",
  "--prometheus",
  prometheus,
  ...more,
];
