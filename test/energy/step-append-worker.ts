/**
 * One of several processes appending to the same report at once (step-append.test.ts):
 * `node --import tsx step-append-worker.ts FILE WRITER COUNT`. Each record carries ~100 KB of padding, far
 * more than a pipe's atomic PIPE_BUF or a page, so only a single O_APPEND write keeps lines whole.
 */
import { appendStep } from "../../src/measure/report-file.js";
import { handMadeStep } from "./hand-made-step.js";

const [file, writer, count] = process.argv.slice(2) as [string, string, string];
const padding = `${writer}:`.padEnd(100_000, writer.slice(-1));
for (let i = 0; i < Number(count); i++) {
  appendStep(
    file,
    handMadeStep(
      `w${writer}-${i}`,
      60,
      { runJ: 2, baselineJ: 1, costJ: i },
      { command: ["sh", "-c", padding] },
    ),
  );
}
