/**
 * For lab tests: the running lab, as the globalSetup brought it up. Read from the file named by
 * POWERSTACK_LAB_JSON (set by test/lab/global-setup.ts), else the default run directory. Read on every
 * call: `restartNode` changes a node's nspawn pid.
 */
import { existsSync, readFileSync } from "node:fs";
import { RUN_DIR } from "./config.js";
import type { LabInfo } from "./types.js";

export type { LabInfo, LabNode } from "./types.js";

export function labInfo(): LabInfo {
  const file = process.env.POWERSTACK_LAB_JSON || `${RUN_DIR}/lab.json`;
  if (!existsSync(file)) {
    throw new Error(
      `no lab: ${file} does not exist. Lab tests run with \`npx vitest run --project lab\` (as root), whose globalSetup brings the lab up`,
    );
  }
  return JSON.parse(readFileSync(file, "utf8")) as LabInfo;
}
