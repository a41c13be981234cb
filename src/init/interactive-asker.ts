/**
 * The asker for a person at a terminal, on @inquirer/prompts. Every typed answer is checked with
 * `checkAnswer` (the loader's own schema rules) inside the prompt, so a bad answer is re-asked on the spot
 * with the reason shown under it.
 */
import { confirm, input, password, select } from "@inquirer/prompts";
import { checkAnswer, explain, fieldAt } from "../inventory/field-check.js";
import { formatPath } from "../inventory/schema-walker.js";
import type { Asker, FieldQuestion, SecretQuestion } from "./asker.js";

export class InteractiveAsker implements Asker {
  readonly interactive = true;

  constructor(private readonly write: (line: string) => void) {}

  say(line: string): void {
    this.write(line);
  }

  async field(q: FieldQuestion): Promise<unknown> {
    const field = fieldAt(q.path);
    if (!field) throw new Error(`no inventory key ${formatPath(q.path)}`);
    if (q.retry) this.say(`✖ ${formatPath(q.path)}: ${q.retry.error}`);
    if (q.mustEnter) this.say(`ℹ ${q.mustEnter}`);
    const current = q.retry?.current;
    const previous = typeof current === "string" || typeof current === "number" ? String(current) : undefined;
    const schemaDefault =
      "default" in field && field.default !== undefined ? String(field.default) : undefined;
    const def = previous ?? q.default ?? schemaDefault;

    if (field.kind === "bool") {
      return confirm({
        message: q.message,
        default: typeof current === "boolean" ? current : def === "true",
      });
    }
    if (field.kind === "string" && field.oneOf) {
      return select({
        message: q.message,
        choices: field.oneOf.map((value) => ({ value, name: value })),
        default: def && field.oneOf.includes(def) ? def : undefined,
      });
    }
    // On a retry the old value is put on the line to be corrected rather than typed again. An optional
    // key must also be clearable, which a pre-filled line is not (an empty line falls back to it): there the
    // old value is offered as the default instead, and Backspace drops it.
    const editable = previous !== undefined && field.required === true;
    const clearable = previous !== undefined && !field.required;
    const answer = await input({
      message: clearable ? `${q.message} (Enter keeps it; Backspace, Enter: none)` : q.message,
      default: def,
      prefill: editable ? "editable" : "tab",
      validate: (value) => {
        const r = checkAnswer(q.path, value);
        return r.ok ? true : explain(r);
      },
    });
    const r = checkAnswer(q.path, answer);
    return r.ok ? r.value : undefined;
  }

  confirm(message: string, defaultValue: boolean): Promise<boolean> {
    return confirm({ message, default: defaultValue });
  }

  async secret(q: SecretQuestion): Promise<string | undefined> {
    if (q.mustEnter) this.say(`ℹ ${q.mustEnter}`);
    const value = await password({
      message: `${q.what}${q.hint ? ` (${q.hint})` : q.required ? "" : " (empty: none)"}`,
      mask: "*",
      validate: (v) => {
        if (!v)
          return q.required
            ? `${q.what} is required; type it (it is stored only in the encrypted vault)`
            : true;
        return q.validate ? q.validate(v) : true;
      },
    });
    return value || undefined;
  }

  missing(key: string): void {
    // Unreachable by design: the interactive wizard asks for everything it lacks.
    throw new Error(`internal: no answer for ${key} in interactive mode`);
  }
}
