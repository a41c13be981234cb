/**
 * What a powerstack vault's plaintext may hold: one YAML mapping of key -> scalar, e.g.
 * `k3s_token: K10abc...`. Parsed as YAML 1.1, the dialect ansible (PyYAML) reads, so values we write
 * (`"yes"`, `"0123"`) are quoted wherever ansible would otherwise turn them into booleans or numbers.
 */
import { Document, isAlias, isMap, isScalar, parseDocument, type Scalar } from "yaml";
import { InputError } from "../errors.js";

const YAML_OPTIONS = { version: "1.1" } as const;

export interface VaultContents {
  /** Kept for writing back, so comments and layout survive a `set`. */
  doc: Document;
  values: Map<string, string>;
}

/** Parse and check a vault's plaintext; `source` names the file in errors. */
export function parseVaultContents(text: string, source: string): VaultContents {
  const doc = parseDocument(text, YAML_OPTIONS);
  const problem = doc.errors[0];
  if (problem) {
    const where = problem.linePos ? `:${problem.linePos[0].line}:${problem.linePos[0].col}` : "";
    throw new InputError(
      `${source}${where}: invalid YAML in the vault: ${problem.message.split("\n")[0]}`,
      "fix it with `powerstack vault edit`",
    );
  }

  const values = new Map<string, string>();
  // A vault holding only comments (or nothing) is an empty mapping, e.g. one just created.
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null))
    return { doc, values };
  if (!isMap(doc.contents)) {
    throw new InputError(
      `${source}: the vault must be a YAML mapping of \`key: value\` lines, not a ${describe(doc.contents)}`,
      "write one `key: value` per line",
    );
  }

  for (const pair of doc.contents.items) {
    if (!isScalar(pair.key) || pair.key.value === null) {
      throw new InputError(
        `${source}: every vault key must be a plain name`,
        "write one `key: value` per line",
      );
    }
    const key = keyText(pair.key);
    if (isAlias(pair.value) || (pair.value !== null && !isScalar(pair.value))) {
      throw new InputError(
        `${source}: vault key \`${key}\` holds a nested ${describe(pair.value)}; powerstack vault values are single strings`,
        `write \`${key}: <value>\` on one line (quote it if it has special characters)`,
      );
    }
    values.set(key, scalarText(pair.value));
  }
  return { doc, values };
}

/** A fresh document for `values`, serialised the way `parseVaultContents` reads it back. */
export function newVaultDocument(values: Record<string, string>): Document {
  for (const [key, value] of Object.entries(values)) checkEntry(key, value);
  return new Document(values, YAML_OPTIONS);
}

/**
 * Set `key` in the document. An existing value node is updated in place so its comments stay; the key
 * is matched by its text, so a key written `yes` or `123` is found although YAML reads it as true/123.
 */
export function setEntry(doc: Document, key: string, value: string): void {
  checkEntry(key, value);
  if (isMap(doc.contents)) {
    const pair = doc.contents.items.find((p) => isScalar(p.key) && keyText(p.key) === key);
    if (pair) {
      if (isScalar(pair.value)) pair.value.value = value;
      else pair.value = doc.createNode(value);
      return;
    }
  }
  doc.set(key, value);
}

export function checkEntry(key: string, value: unknown): void {
  if (key === "") throw new InputError("a vault key cannot be empty", "name the secret, e.g. `k3s_token`");
  if (typeof value !== "string")
    throw new InputError(`vault key \`${key}\`: the value must be a string, got ${typeof value}`);
}

/**
 * The value as the user wrote it: `0123` stays "0123" and `yes` stays "yes", where a YAML loader
 * would make them 83 and true. Secrets are text, so an empty value (or `~`) is "".
 */
function scalarText(node: Scalar | null): string {
  if (node === null || node.value === null || node.value === undefined) return "";
  if (typeof node.value === "string") return node.value;
  return node.source ?? String(node.value);
}

function keyText(node: Scalar): string {
  return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
}

function describe(node: unknown): string {
  if (isAlias(node)) return "YAML alias";
  if (isMap(node)) return "mapping";
  if (isScalar(node)) return "single value";
  return "list";
}
