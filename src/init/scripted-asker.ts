/**
 * The asker for `--defaults` (CI, scripts, no TTY): it never prompts. A key without a value takes its
 * default; a required key without one, an invalid value, or a missing secret is recorded, and `finish()`
 * throws one error that lists every one of them with the flag or variable that supplies it.
 */
import { InputError } from "../errors.js";
import { checkAnswer, describeField, fieldAt } from "../inventory/field-check.js";
import { formatPath } from "../inventory/schema-walker.js";
import type { Asker, FieldQuestion, SecretQuestion } from "./asker.js";

export class ScriptedAsker implements Asker {
  readonly interactive = false;
  private readonly problems: string[] = [];

  constructor(
    private readonly write: (line: string) => void,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  say(line: string): void {
    this.write(line);
  }

  async field(q: FieldQuestion): Promise<unknown> {
    const key = formatPath(q.path);
    const how = `pass --set ${key}=<${describeField(q.path)}>`;
    if (q.retry) {
      this.problems.push(`${key}: ${q.retry.error}\n    ${how}`);
      return undefined;
    }
    if (q.mustEnter) {
      this.problems.push(`${key}: ${q.mustEnter}\n    ${how}`);
      return undefined;
    }
    const field = fieldAt(q.path);
    const def = q.default ?? (field && "default" in field ? field.default : undefined);
    const r = checkAnswer(q.path, def);
    if (!r.ok) this.problems.push(`${key}: no value given\n    ${how}`);
    return r.ok ? r.value : undefined;
  }

  async confirm(_message: string, defaultValue: boolean): Promise<boolean> {
    return defaultValue;
  }

  async secret(q: SecretQuestion): Promise<string | undefined> {
    const name = q.env.find((e) => this.env[e]);
    const value = name ? this.env[name] : undefined;
    if (!name || !value) {
      if (q.required || q.mustEnter)
        this.problems.push(
          `${q.what}: ${q.mustEnter ?? "not given"}\n    set the environment variable ${q.env.join(" or ")}${q.envHint ? ` (${q.envHint})` : ""}`,
        );
      return undefined;
    }
    const valid = q.validate ? q.validate(value) : true;
    if (valid !== true) {
      this.problems.push(`${q.what} (from ${name}): ${valid}`);
      return undefined;
    }
    return value;
  }

  missing(key: string, how: string): void {
    this.problems.push(`${key}: no value given\n    ${how}`);
  }

  /** Throws the list of everything missing or invalid; nothing has been written at this point. */
  finish(): void {
    if (this.problems.length === 0) return;
    throw new InputError(
      `powerstack init --defaults cannot complete; missing or invalid answers:\n  ${this.problems.join("\n  ")}`,
      "supply them with the flags/variables shown (or run `powerstack init` without --defaults to be asked); nothing was written",
    );
  }
}
