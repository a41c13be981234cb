import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "./errors.js";

export interface InputFileRules {
  /** Refuse a larger file before reading it whole (and before any parser sees it). */
  maxBytes?: number;
  /** Refuse a file that is not UTF-8 text (a binary, an image, a compressed file). */
  text?: boolean;
}

/** `1.0 MiB`, `20.0 MiB`, `512 bytes`: a size as a person reads it. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Why `text` is not a text file, or undefined if it is: YAML (like a person) has no use for control
 * characters other than tab, newline and carriage return. Only an offset is named, never the bytes.
 */
export function notTextReason(text: string): string | undefined {
  const bad = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.exec(text);
  if (!bad) return undefined;
  const before = text.slice(0, bad.index);
  const line = before.split("\n").length;
  const col = bad.index - before.lastIndexOf("\n");
  return `it holds binary data (a control character first at line ${line}, column ${col})`;
}

/**
 * Read a file the user named; a missing, unreadable, oversized or binary one is an input error saying
 * which and how to fix it, and never quoting the content (it may be a password file given by mistake).
 */
export function readInputFile(
  path: string,
  what: string,
  fix: string,
  rules: InputFileRules = {},
): { file: string; text: string } {
  const file = resolve(path);
  const limit = () => formatBytes(rules.maxBytes!);
  const tooLarge = (size?: number) =>
    new InputError(
      size === undefined
        ? `${what} ${file} is over the ${limit()} limit: reading stopped there`
        : `${what} ${file} is ${formatBytes(size)} (${size} bytes), over the ${limit()} limit: refused before reading it`,
      `is this the right file? ${fix}`,
    );
  const notText = (reason: string) =>
    new InputError(`${what} ${file} is not a text/YAML file: ${reason}`, `is this the right file? ${fix}`);
  let bytes: Buffer;
  try {
    const fd = openSync(file, "r");
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) throw new InputError(`cannot read ${what} ${file}: it is a directory`, fix);
      if (rules.maxBytes !== undefined && stat.isFile() && stat.size > rules.maxBytes)
        throw tooLarge(stat.size);
      bytes = readBounded(fd, rules.maxBytes);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    if (err instanceof RangeError) throw tooLarge();
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      `cannot read ${what} ${file}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`,
      fix,
    );
  }
  if (!rules.text) return { file, text: bytes.toString("utf8") };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw notText("it holds bytes that are not UTF-8");
  }
  const reason = notTextReason(text);
  if (reason) throw notText(reason);
  return { file, text };
}

/**
 * The whole file, or a RangeError once it passes `max` bytes: a pipe or a device (`-i /dev/zero`) has no
 * size to check beforehand, and must not be read without end.
 */
function readBounded(fd: number, max: number | undefined): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (max !== undefined && total > max) throw new RangeError("over the limit");
  }
}
