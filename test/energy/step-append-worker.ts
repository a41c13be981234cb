/**
 * One of several processes appending to the same report at once (step-append.test.ts):
 * `node --import tsx step-append-worker.ts FILE WRITER COUNT`. Each record carries ~100 KB of padding, far
 * more than a pipe's atomic PIPE_BUF or a page, so only a single O_APPEND write keeps lines whole.
 */
import { appendStep } from "../../src/measure/report-file.js";
import { STEP_RECORD_VERSION, type StepRecord } from "../../src/measure/step-record.js";

const [file, writer, count] = process.argv.slice(2) as [string, string, string];
const padding = `${writer}:`.padEnd(100_000, writer.slice(-1));
for (let i = 0; i < Number(count); i++) {
  const w = { from: "2025-01-01T00:00:00.000Z", to: "2025-01-01T00:01:00.000Z", seconds: 60 };
  const figure = {
    runJ: 2,
    baselineJ: 1,
    costJ: i,
    costW: i / 60,
    co2G: 0,
    co2BySourceG: { coal: 0, petroleum: 0, naturalGas: 0 },
  };
  const record: StepRecord = {
    powerstackStep: STEP_RECORD_VERSION,
    step: `w${writer}-${i}`,
    command: ["sh", "-c", padding],
    exitCode: 0,
    commandWindow: w,
    run: w,
    baseline: w,
    kepler: "current",
    prometheus: "http://127.0.0.1:9090",
    figure: "CPU package",
    keplerIntervalS: 5,
    scrapeIntervalS: 30,
    tooShort: false,
    gridIntensityGPerKwh: 475,
    gridSource: "test",
    total: { ...figure, platform: null },
    noise: null,
    nodes: [],
    namespaces: [],
    caveats: [],
  };
  appendStep(file, record);
}
