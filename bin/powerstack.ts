#!/usr/bin/env node
// The executable: parse argv, run the command, exit with its code. Everything else is in src/cli.
import { main } from "../src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`powerstack: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
