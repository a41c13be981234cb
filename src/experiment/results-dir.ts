/**
 * One experiment run's record: a NEW directory under the results root, `<plan name>-<UTC yyyymmddThhmmssZ>`
 * (`-2`, `-3`, ... when that name is taken), holding the plan's exact text, the versions and node facts of
 * the cluster it ran on, when each phase ran, the priced results and the run's log.
 *
 * Nothing is ever overwritten: the directory is made with a non-recursive mkdir (which fails when the name
 * exists, so two runs started in the same second, even by two processes, never share one), and every file
 * in it is created with O_EXCL. A second run of the same plan therefore leaves the first one's record as
 * it was.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { InputError, PowerstackError } from "../errors.js";

export const RESULTS_FILES = {
  plan: "plan.yaml",
  versions: "versions.json",
  nodes: "nodes.json",
  phases: "phases.json",
  resultsJson: "results.json",
  resultsCsv: "results.csv",
  log: "run.log.jsonl",
} as const;

/** A plan's name as a directory name: anything but letters, digits, `.`, `_` and `-` becomes `-`. */
export function dirSafe(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+/, "");
  return safe || "experiment";
}

/** `20261206T054800Z`: sortable, no characters a shell or a file system minds. */
export function utcStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** Enough for every run one plan could start in one second; beyond it something is looping. */
const MAX_SUFFIX = 1000;

export class ResultsDir {
  private logFd: number | undefined;
  private closed = false;

  private constructor(readonly path: string) {}

  /** Makes the run's new directory under `root` (the root itself is created when missing). */
  static create(root: string, planName: string, now: Date = new Date()): ResultsDir {
    try {
      mkdirSync(root, { recursive: true });
    } catch (err) {
      throw new InputError(
        `--results ${root}: cannot create the results directory: ${(err as Error).message}`,
        "pick a writable directory with --results DIR",
      );
    }
    const base = join(resolve(root), `${dirSafe(planName)}-${utcStamp(now)}`);
    for (let n = 1; n <= MAX_SUFFIX; n++) {
      const path = n === 1 ? base : `${base}-${n}`;
      try {
        mkdirSync(path); // not recursive: EEXIST when another run has it
        return new ResultsDir(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw new InputError(
          `cannot create the results directory ${path}: ${(err as Error).message}`,
          "pick a writable directory with --results DIR",
        );
      }
    }
    throw new PowerstackError(`${base}: ${MAX_SUFFIX} results directories of this name already exist`);
  }

  /** An existing run's directory, for `experiment report`. */
  static open(path: string): ResultsDir {
    if (!existsSync(path) || !statSync(path).isDirectory())
      throw new InputError(
        `${path} is not a results directory (it does not exist or is not a directory)`,
        "name the directory `powerstack experiment run` printed, e.g. results/<plan>-<yyyymmddThhmmssZ>",
      );
    return new ResultsDir(resolve(path));
  }

  file(name: string): string {
    return join(this.path, name);
  }

  has(name: string): boolean {
    return existsSync(this.file(name));
  }

  /** Creates the file; it must not exist (flag `wx`): a record is written once. */
  write(name: string, text: string): void {
    writeFileSync(this.file(name), text, { flag: "wx" });
  }

  writeJson(name: string, value: unknown): void {
    this.write(name, JSON.stringify(value, null, 2) + "\n");
  }

  read(name: string): string {
    const path = this.file(name);
    if (!existsSync(path))
      throw new InputError(
        `${this.path} has no ${name}`,
        name === RESULTS_FILES.resultsJson
          ? "the run did not get to pricing its phases: price them now with `powerstack experiment report DIR --reprice`"
          : "is it a directory `powerstack experiment run` made?",
      );
    return readFileSync(path, "utf8");
  }

  readJson<T>(name: string): T {
    const text = this.read(name);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new InputError(
        `${this.file(name)} is not valid JSON: ${(err as Error).message}`,
        "was it edited by hand?",
      );
    }
  }

  /** One JSON object per line in the run's log, appended as the run goes (the file is created once). */
  log(event: string, data: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.logFd ??= openSync(this.file(RESULTS_FILES.log), "wx", 0o644);
    writeSync(this.logFd, JSON.stringify({ time: new Date().toISOString(), event, ...data }) + "\n");
  }

  close(): void {
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = undefined;
    this.closed = true;
  }
}
