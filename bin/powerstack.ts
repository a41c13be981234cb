#!/usr/bin/env node
// The executable: parse argv, run the command, exit with its code. Everything else is in src/cli.
import { performance } from "node:perf_hooks";

// POWERSTACK_TIMING=1: one JSON line of phase marks (ms since process start) on stderr at exit. Read
// here, not through src/timing.ts, so the import of main below is measured rather than preceding it.
const timing = process.env.POWERSTACK_TIMING === "1";
if (timing) {
  performance.mark("bin");
  process.on("exit", () => {
    performance.mark("exit");
    const marks = performance
      .getEntriesByType("mark")
      .map((m) => [m.name, Math.round(m.startTime * 10) / 10]);
    const boot = Math.round(performance.nodeTiming.bootstrapComplete * 10) / 10;
    process.stderr.write(`powerstack-timing ${JSON.stringify({ bootstrapComplete: boot, marks })}\n`);
  });
}
// A dynamic import, so that the timing above sees loading the CLI apart from node's own start-up.
const { main } = await import("../src/cli/main.js");
if (timing) performance.mark("main-imported");

main(process.argv.slice(2)).then(
  (code) => {
    if (timing) performance.mark("main-done");
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`powerstack: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
