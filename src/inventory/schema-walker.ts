/**
 * A small declarative schema for YAML documents that keeps source positions: every problem it finds is
 * reported with the file, line and column of the offending key or value, what is wrong and how to fix it.
 *
 * It exists (rather than a JSON-schema library) because the messages are the product here: "did you mean",
 * the allowed range, and the fix, phrased for the person editing the file.
 */
import { isMap, isScalar, LineCounter, type Document, type Node, type Pair } from "yaml";
import { closest } from "../closest.js";

export type Path = Array<string | number>;

export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, e.g. `nodes[1].bmc.address`. */
  key: string;
  message: string;
  fix: string;
}

export type Field =
  | {
      kind: "string";
      required?: boolean;
      default?: string;
      pattern?: RegExp;
      patternHint?: string;
      oneOf?: readonly string[];
    }
  | { kind: "int"; required?: boolean; default?: number; min?: number; max?: number }
  | { kind: "number"; required?: boolean; default?: number; min?: number; max?: number }
  | { kind: "bool"; required?: boolean; default?: boolean }
  | { kind: "strings"; required?: boolean; default?: string[] }
  /** `optional`: when absent the section stays absent; otherwise it is filled with its fields' defaults. */
  | { kind: "object"; required?: boolean; optional?: boolean; fields: Record<string, Field> }
  | { kind: "list"; required?: boolean; of: Field; minItems?: number }
  /** Any mapping, taken as it is (Helm values); whoever uses it checks its content. */
  | { kind: "mapping"; required?: boolean; default?: Record<string, unknown> };

/**
 * How many problems an error lists: past this one more would not help a person, and a generated file
 * with 750 000 broken items would otherwise print megabytes. The rest are counted, not formatted.
 */
export const MAX_LISTED_PROBLEMS = 50;

/** The longest piece of a value a message quotes. */
const MAX_EXCERPT = 40;

/**
 * Keys whose value is itself a secret (a password or token typed where a vault key name belongs, or a
 * Helm value such as `adminPassword`). A `*_secret` key only names a vault key, so its value is shown.
 */
export function looksSecret(path: Path): boolean {
  const last = [...path].reverse().find((p): p is string => typeof p === "string");
  if (last === undefined || /_secret$/.test(last)) return false;
  return /(pass(word|wd|phrase)?|pw|pin|token|secret|key|credentials?|auth|cookie|private|cert)$/i.test(last);
}

/**
 * A value as a message may quote it: never for a secret-looking key, else at most MAX_EXCERPT
 * characters with anything unprintable replaced, so a password or a binary blob is never echoed whole.
 */
export function excerpt(value: unknown, path: Path = []): string {
  if (looksSecret(path)) return "(value not shown: the key looks secret)";
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const printable = text.replace(/[\p{C}]/gu, "\uFFFD");
  return printable.length > MAX_EXCERPT ? `${printable.slice(0, MAX_EXCERPT - 1)}…` : printable;
}

export function formatPath(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p;
  return out || "(top level)";
}

/** Locates a path in the parsed document and reports problems against it. */
export class SourceMap {
  /** The first MAX_LISTED_PROBLEMS problems, in the order found. */
  readonly problems: Problem[] = [];
  /** Problems found beyond those listed. */
  unlisted = 0;

  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private position(offset: number | undefined): { line: number; col: number } {
    if (offset === undefined) return { line: 1, col: 1 };
    return this.lines.linePos(offset);
  }

  /** The YAML node of the value at `path`, or of its nearest existing ancestor. */
  private nodeAt(path: Path): Node | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && typeof node === "object" && "range" in node) return node;
    }
    return this.doc.contents ?? undefined;
  }

  /** The key node for `path` (for an unknown key we point at the key, not its value). */
  private keyAt(path: Path): Node | undefined {
    const parent = this.doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p: Pair) => isScalar(p.key) && p.key.value === last);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return undefined;
  }

  /** Whether `path` is written in the file (rather than taking its default). */
  isWritten(path: Path): boolean {
    return this.doc.hasIn(path);
  }

  /** Every problem found, listed or not. */
  get count(): number {
    return this.problems.length + this.unlisted;
  }

  /** Where `path` is written (its key, or its value), or its nearest written ancestor for a defaulted key. */
  locate(path: Path, message: string, fix: string, at: "value" | "key" = "value"): Problem {
    const node = (at === "key" ? this.keyAt(path) : undefined) ?? this.nodeAt(path);
    const { line, col } = this.position(node?.range?.[0]);
    return { file: this.file, line, col, key: formatPath(path), message, fix };
  }

  report(path: Path, message: string, fix: string, at: "value" | "key" = "value"): void {
    // Past the listed ones only count: locating each would cost time for lines nobody reads.
    if (this.problems.length >= MAX_LISTED_PROBLEMS) this.unlisted++;
    else this.problems.push(this.locate(path, message, fix, at));
  }
}

function typeName(v: unknown, path: Path): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (looksSecret(path)) return `a ${typeof v} ${excerpt(v, path)}`;
  return `${typeof v} ${typeof v === "string" ? JSON.stringify(excerpt(v)) : excerpt(v)}`;
}

/** A YAML mapping (reported where it is not). */
function isMapping(value: unknown, path: Path, src: SourceMap): value is Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return true;
  src.report(
    path,
    `expected a mapping, found ${typeName(value, path)}`,
    "write `key: value` pairs, indented under this key",
  );
  return false;
}

/**
 * Check `value` (the plain JS form of the YAML at `path`) against `field`, report every problem, and
 * return the value with defaults filled in. Invalid parts come back as `undefined`; callers must not use
 * the result when problems were reported.
 */
export function walk(field: Field, value: unknown, path: Path, src: SourceMap): unknown {
  if (value === undefined || value === null) {
    if ("default" in field && field.default !== undefined) return field.default;
    if (field.kind === "object" && !field.optional) {
      if (field.required) {
        src.report(
          path,
          `required section \`${formatPath(path)}\` is missing`,
          `add a \`${path[path.length - 1]}:\` mapping`,
        );
      }
      return walk(field, {}, path, src);
    }
    if (field.required) {
      src.report(
        path,
        `required key \`${formatPath(path)}\` is missing`,
        `add \`${path[path.length - 1]}: <value>\``,
      );
    }
    return undefined;
  }

  switch (field.kind) {
    case "string": {
      if (typeof value !== "string") {
        if (typeof value === "number" || typeof value === "boolean")
          return walk(field, String(value), path, src);
        src.report(path, `expected a string, found ${typeName(value, path)}`, "write a single value");
        return undefined;
      }
      if (field.oneOf && !field.oneOf.includes(value)) {
        const near = closest(value, field.oneOf);
        src.report(
          path,
          `\`${excerpt(value, path)}\` is not one of ${field.oneOf.map((o) => `\`${o}\``).join(", ")}`,
          near ? `did you mean \`${near}\`?` : `use one of: ${field.oneOf.join(", ")}`,
        );
        return undefined;
      }
      if (field.pattern && !field.pattern.test(value)) {
        src.report(
          path,
          `\`${excerpt(value, path)}\` is not ${field.patternHint ?? `of the form ${field.pattern}`}`,
          `write ${field.patternHint}`,
        );
        return undefined;
      }
      return value;
    }
    case "int":
    case "number": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof n !== "number" || Number.isNaN(n) || (field.kind === "int" && !Number.isInteger(n))) {
        src.report(
          path,
          `expected ${field.kind === "int" ? "an integer" : "a number"}, found ${typeName(value, path)}`,
          "write a number",
        );
        return undefined;
      }
      if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max)) {
        src.report(
          path,
          `${n} is outside the allowed range ${field.min ?? "-∞"}-${field.max ?? "∞"}`,
          `pick a value between ${field.min ?? "-∞"} and ${field.max ?? "∞"}`,
        );
        return undefined;
      }
      return n;
    }
    case "bool": {
      if (typeof value !== "boolean") {
        src.report(path, `expected true or false, found ${typeName(value, path)}`, "write `true` or `false`");
        return undefined;
      }
      return value;
    }
    case "strings": {
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
        src.report(
          path,
          `expected a list of strings, found ${typeName(value, path)}`,
          "write a YAML list, e.g. `[traefik]`",
        );
        return undefined;
      }
      return value;
    }
    case "mapping":
      return isMapping(value, path, src) ? value : undefined;
    case "list": {
      if (!Array.isArray(value)) {
        src.report(
          path,
          `expected a list, found ${typeName(value, path)}`,
          "write a YAML list (items start with `- `)",
        );
        return undefined;
      }
      if (field.minItems && value.length < field.minItems) {
        src.report(
          path,
          `needs at least ${field.minItems} item(s), found ${value.length}`,
          "add the missing items",
        );
      }
      return value.map((item, i) => walk(field.of, item, [...path, i], src));
    }
    case "object": {
      if (!isMapping(value, path, src)) return undefined;
      const known = Object.keys(field.fields);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) {
          const near = closest(key, known);
          src.report(
            [...path, key],
            `unknown key \`${excerpt(key)}\``,
            near ? `did you mean \`${near}\`?` : `allowed keys here: ${known.join(", ")}`,
            "key",
          );
        }
      }
      for (const [key, sub] of Object.entries(field.fields)) {
        out[key] = walk(sub, (value as Record<string, unknown>)[key], [...path, key], src);
      }
      return out;
    }
  }
}
