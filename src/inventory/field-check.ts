/**
 * Validate ONE value against the inventory schema field at a key path, with the very Field definitions
 * and `walk()` the loader uses. `powerstack init` checks each answer as it is typed with this, so an answer
 * the wizard accepts is one the loader accepts, and a rule changed in schema.ts changes both at once.
 */
import { Document, LineCounter } from "yaml";
import { inventorySchema } from "./schema.js";
import { formatPath, SourceMap, walk, type Field, type Path } from "./schema-walker.js";

export type AnswerCheck = { ok: true; value: unknown } | { ok: false; message: string; fix: string };

/** The schema Field at `path` (list indices step into the item Field), or undefined if there is none. */
export function fieldAt(path: Path, root: Field = inventorySchema): Field | undefined {
  let field: Field | undefined = root;
  for (const step of path) {
    if (!field) return undefined;
    if (typeof step === "number") field = field.kind === "list" ? field.of : undefined;
    else field = field.kind === "object" ? field.fields[step] : undefined;
  }
  return field;
}

/** Parse a dotted key path as `formatPath` prints it (`nodes[1].bmc.address`) back into a Path. */
export function parsePath(key: string): Path {
  const path: Path = [];
  for (const part of key.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`not a key path: ${key}`);
    if (m[1]) path.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(idx[1]));
  }
  return path;
}

/**
 * Check `value` for the key at `path`. An empty string counts as "no answer": a required key then fails,
 * an optional one passes as undefined. On success `value` is the typed form (a number for an int key).
 */
export function checkAnswer(path: Path, value: unknown): AnswerCheck {
  const field = fieldAt(path);
  if (!field) throw new Error(`no inventory key ${formatPath(path)} in the schema`);
  const given = typeof value === "string" ? value.trim() : value;
  if (given === "" || given === undefined || given === null) {
    if (field.required) {
      const hint = "patternHint" in field && field.patternHint ? field.patternHint : "a value";
      return { ok: false, message: `${formatPath(path)} is required`, fix: `enter ${hint}` };
    }
    return { ok: true, value: undefined };
  }
  // The walker reports against a YAML document for line numbers; an answer has none, so an empty one does.
  const src = new SourceMap("(answer)", new Document(), new LineCounter());
  const checked = walk(field, given, path, src);
  const problem = src.problems[0];
  if (problem) return { ok: false, message: problem.message, fix: problem.fix };
  return { ok: true, value: checked };
}

/** One line for a rejected answer: the problem, and the fix unless it only repeats the problem's hint. */
export function explain(check: { message: string; fix: string }): string {
  const hint = check.fix.startsWith("write ") ? check.fix.slice("write ".length) : undefined;
  return hint && check.message.includes(hint) ? check.message : `${check.message}; ${check.fix}`;
}

/** What a valid answer looks like, for prompts and for "pass --set key=<...>" hints. */
export function describeField(path: Path): string {
  const field = fieldAt(path);
  if (!field) return "a value";
  switch (field.kind) {
    case "string":
      if (field.oneOf) return field.oneOf.join("|");
      return field.patternHint ?? "text";
    case "int":
    case "number":
      return field.min !== undefined && field.max !== undefined
        ? `a number ${field.min}-${field.max}`
        : "a number";
    case "bool":
      return "true|false";
    default:
      return "a value";
  }
}
