/**
 * The report file: one JSON line per step (JSON Lines), appended, never rewritten.
 *
 * Several jobs of a pipeline may append to one file at the same time. Each step is one `write()` of
 * one whole line on a descriptor opened with O_APPEND: the kernel moves to the end and writes under the
 * inode's lock, so lines from parallel writers never interleave or overwrite each other on a local
 * filesystem (ext4, xfs, btrfs, tmpfs). NFS does not promise that (O_APPEND is emulated by the client):
 * there, give each job its own file and pass them all to `measure report`.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { InputError, PowerstackError } from "../errors.js";
import { STEP_RECORD_VERSION, type StepRecord } from "./step-record.js";

export function appendStep(file: string, record: StepRecord): void {
  const line = Buffer.from(`${JSON.stringify(record)}\n`);
  let fd: number;
  try {
    fd = openSync(file, "a", 0o644);
  } catch (err) {
    throw new PowerstackError(
      `cannot open the report ${file} to append step "${record.step}": ${(err as Error).message}`,
      undefined,
      "check that the directory exists and is writable",
    );
  }
  try {
    const written = writeSync(fd, line);
    // A short write (disk full) would leave half a line that the next writer's line runs into.
    if (written !== line.length)
      throw new PowerstackError(
        `report ${file}: wrote ${written} of ${line.length} bytes of step "${record.step}" (disk full?)`,
        undefined,
        `free space, then remove the last, incomplete line of ${file}`,
      );
  } finally {
    closeSync(fd);
  }
}

/** Every step of the files, in file order then line order. */
export function readReports(files: readonly string[]): StepRecord[] {
  return files.flatMap((f) => readReport(f));
}

export function readReport(file: string): StepRecord[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new InputError(
      `cannot read the report ${file}: ${missing ? "no such file" : (err as Error).message}`,
      missing
        ? "write it with `powerstack measure --step NAME --report FILE -- <command>` first"
        : "check its permissions",
    );
  }
  const records: StepRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${file}:${i + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      const col = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new InputError(
        `${where}${col ? `:${Number(col) + 1}` : ""}: not a step record (${(err as Error).message})`,
        "a report holds one JSON object per line, written by `powerstack measure --step`; remove the broken line (a job killed mid-write leaves one)",
      );
    }
    records.push(checkRecord(parsed, where));
  });
  return records;
}

function checkRecord(v: unknown, where: string): StepRecord {
  const o = v as Partial<StepRecord> | null;
  if (typeof o !== "object" || o === null || !("powerstackStep" in o))
    throw new InputError(
      `${where}: not a step record (no "powerstackStep" key)`,
      "pass a report written by `powerstack measure --step NAME --report FILE`",
    );
  if (o.powerstackStep !== STEP_RECORD_VERSION)
    throw new InputError(
      `${where}: step record version ${String(o.powerstackStep)}, this powerstack reads version ${STEP_RECORD_VERSION}`,
      "render it with the powerstack that wrote it, or record the step again",
    );
  const bad = (key: string) =>
    new InputError(
      `${where}: key "${key}" is missing or of the wrong type`,
      "the line was edited or truncated: record the step again",
    );
  if (typeof o.step !== "string" || o.step === "") throw bad("step");
  if (typeof o.exitCode !== "number") throw bad("exitCode");
  if (typeof o.tooShort !== "boolean") throw bad("tooShort");
  if (typeof o.total?.costJ !== "number") throw bad("total.costJ");
  if (!Array.isArray(o.nodes)) throw bad("nodes");
  if (!Array.isArray(o.namespaces)) throw bad("namespaces");
  if (typeof o.commandWindow?.seconds !== "number") throw bad("commandWindow.seconds");
  return o as StepRecord;
}

/**
 * One record per step name: a step recorded again (a retried job) replaces the earlier one, which is
 * what a reader of "this pipeline's steps" means. The replaced names are returned for a note.
 */
export function latestPerStep(records: readonly StepRecord[]): { steps: StepRecord[]; replaced: string[] } {
  const byName = new Map<string, StepRecord>();
  const replaced = new Set<string>();
  for (const r of records) {
    if (byName.has(r.step)) {
      replaced.add(r.step);
      byName.delete(r.step); // keep the order of the latest recording
    }
    byName.set(r.step, r);
  }
  return { steps: [...byName.values()], replaced: [...replaced] };
}
