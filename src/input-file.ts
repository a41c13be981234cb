import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "./errors.js";

/** Read a file the user named; a missing or unreadable one is an input error saying which and how to fix. */
export function readInputFile(path: string, what: string, fix: string): { file: string; text: string } {
  const file = resolve(path);
  try {
    return { file, text: readFileSync(file, "utf8") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      `cannot read ${what} ${file}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`,
      fix,
    );
  }
}
