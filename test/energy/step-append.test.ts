/**
 * Parallel jobs appending to one report: eight real processes each append 25 records of ~100 KB to the
 * same file at the same time; every record must come back whole, exactly once.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readReport } from "../../src/measure/report-file.js";
import { ROOT } from "./cli.js";

const dir = mkdtempSync(join(tmpdir(), "powerstack-append-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writer(file: string, id: number, count: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "test", "energy", "step-append-worker.ts"),
        file,
        String(id),
        String(count),
      ],
      { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
    );
    child.once("error", reject);
    child.once("exit", resolve);
  });
}

describe("report file: concurrent appends", () => {
  it("loses no step and tears no line when parallel processes append at once", async () => {
    const file = join(dir, "energy.jsonl");
    const writers = 8;
    const each = 25;
    const codes = await Promise.all(Array.from({ length: writers }, (_, i) => writer(file, i, each)));
    expect(codes).toEqual(Array(writers).fill(0));

    const text = readFileSync(file, "utf8");
    expect(text.split("\n").filter(Boolean)).toHaveLength(writers * each);
    const steps = readReport(file).map((r) => r.step); // throws, naming file:line, on a torn line
    const expected = Array.from({ length: writers }, (_, w) =>
      Array.from({ length: each }, (_, i) => `w${w}-${i}`),
    );
    expect([...steps].sort()).toEqual(expected.flat().sort());
    // Each writer's own lines stay in its order.
    for (let w = 0; w < writers; w++)
      expect(steps.filter((s) => s.startsWith(`w${w}-`))).toEqual(expected[w]);
  }, 60_000);
});
