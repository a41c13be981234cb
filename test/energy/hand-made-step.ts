/**
 * Step records made by hand, for tests of what reads them (the gate, the report file) without a Prometheus:
 * every field a measured record has, all three windows the same `seconds` from HAND_MADE_START, no CO2, no
 * platform, no noise, no nodes or namespaces; `more` overrides any of it.
 */
import { STEP_RECORD_VERSION, type StepFigure, type StepRecord } from "../../src/measure/step-record.js";

export const HAND_MADE_START = "2025-01-01T00:00:00.000Z";

export function handMadeStep(
  name: string,
  seconds: number,
  figure: Pick<StepFigure, "runJ" | "baselineJ" | "costJ">,
  more: Partial<StepRecord> = {},
): StepRecord {
  const to = new Date(Date.parse(HAND_MADE_START) + seconds * 1000).toISOString();
  const w = { from: HAND_MADE_START, to, seconds };
  return {
    powerstackStep: STEP_RECORD_VERSION,
    step: name,
    command: ["true"],
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
    total: {
      ...figure,
      costW: figure.costJ / seconds,
      co2G: 0,
      co2BySourceG: { coal: 0, petroleum: 0, naturalGas: 0 },
      platform: null,
    },
    noise: null,
    nodes: [],
    namespaces: [],
    caveats: [],
    ...more,
  };
}
