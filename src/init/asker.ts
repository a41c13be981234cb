/**
 * How the wizard gets an answer it does not have yet. One wizard, two askers: the interactive one prompts
 * (and re-asks until the schema accepts the answer), the scripted one (`--defaults`) takes defaults and
 * environment variables and collects every missing answer, so one run lists all of them.
 */
import type { Path } from "../inventory/schema-walker.js";

export interface FieldQuestion {
  /** The inventory key the answer goes to: its schema Field decides the prompt kind and validation. */
  path: Path;
  message: string;
  /** Overrides the schema default (e.g. a default derived from earlier answers). */
  default?: string;
  /** Why this key has no value although the source had one (Jinja, `!vault`): no default may stand in for it unasked. */
  mustEnter?: string;
  /** Asked again because a value was rejected: the reason is shown and the old value is editable. */
  retry?: { error: string; current?: unknown };
}

export interface SecretQuestion {
  /** What the secret is, for the prompt and for error messages. */
  what: string;
  /** Environment variables that supply it in non-interactive mode; the first one set wins. */
  env: string[];
  required: boolean;
  /** As for FieldQuestion: the imported value could not be used, so it must be given, not defaulted. */
  mustEnter?: string;
  /** Extra hint for the prompt, e.g. "empty: generate one". */
  hint?: string;
  /** Extra hint for the environment variable, e.g. "`generate`: generate one". */
  envHint?: string;
  validate?: (value: string) => string | true;
}

export interface Asker {
  readonly interactive: boolean;
  /** An answer for one inventory key, valid for its schema Field; undefined when left empty (optional keys). */
  field(q: FieldQuestion): Promise<unknown>;
  confirm(message: string, defaultValue: boolean): Promise<boolean>;
  secret(q: SecretQuestion): Promise<string | undefined>;
  /** An answer the wizard cannot get in this mode: `how` tells the user what to pass. */
  missing(key: string, how: string): void;
  say(line: string): void;
}
