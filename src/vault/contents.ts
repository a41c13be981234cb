/**
 * What a powerstack vault's plaintext may hold: one YAML mapping, flat as powerstack writes it
 * (`k3s_token: K10abc...`) or nested as Ansible users write it (`ansible_vault: {token: …}`); paths.ts says
 * how a dotted name finds a value in it. Parsed as YAML 1.1, the dialect ansible (PyYAML) reads, so values we
 * write (`"yes"`, `"0123"`) are quoted wherever ansible would otherwise turn them into booleans or numbers.
 */
import { Document, isMap, isScalar, parseDocument } from "yaml";
import { InputError } from "../errors.js";
import { describeNode } from "./paths.js";
import { YAML_OPTIONS } from "./rewrite.js";

export interface VaultContents {
  /** Kept for reading by path and writing back, so comments and layout survive a `set`. */
  doc: Document;
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

  // A vault holding only comments (or nothing) is an empty mapping, e.g. one just created.
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { doc };
  if (!isMap(doc.contents)) {
    throw new InputError(
      `${source}: the vault must be a YAML mapping of \`key: value\` lines, not a ${describeNode(doc.contents)}`,
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
  }
  return { doc };
}

/** A fresh flat document for `values`, serialised the way `parseVaultContents` reads it back. */
export function newVaultDocument(values: Record<string, string>): Document {
  for (const [key, value] of Object.entries(values)) checkEntry(key, value);
  return new Document(values, YAML_OPTIONS);
}

export function checkEntry(key: string, value: unknown): void {
  if (key === "") throw new InputError("a vault key cannot be empty", "name the secret, e.g. `k3s_token`");
  if (typeof value !== "string")
    throw new InputError(`vault key \`${key}\`: the value must be a string, got ${typeof value}`);
}
