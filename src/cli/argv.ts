/**
 * The command line: what a command accepts (declared once, in commands.ts) and argv parsed against it.
 *
 * Built on node's own `util.parseArgs` rather than an argument library: the whole CLI front costs about
 * a millisecond to load, where commander cost ~30 ms of every start-up on a 2-core machine (issue 7,
 * `powerstack --help` < 150 ms). What parseArgs lacks (sub-commands, global flags on either side of the
 * command, counted and repeatable flags, choices, defaults, clear errors) is this file.
 */
import { parseArgs } from "node:util";
import { closest } from "../closest.js";
import { InputError } from "../errors.js";
import type { GlobalOptions } from "./options.js";

/** One flag, declared commander-style: `opt("-i, --inventory <file>", "inventory file")`. */
export interface OptionSpec {
  /** The long name without dashes: `vault-password-file`. */
  long: string;
  /** The key in the parsed options: `vaultPasswordFile`. */
  key: string;
  short?: string;
  /** The value's placeholder (`file`); absent for a flag that takes no value. */
  value?: string;
  description: string;
  default?: string | number | string[];
  choices?: readonly string[];
  /** Kept once per occurrence, in order (`--node a --node b`). */
  repeatable?: boolean;
  /** A flag whose occurrences are counted (`-vv` is 2). */
  counted?: boolean;
  /** Turns the text into the stored value; throws an InputError when it is wrong. */
  parse?: (text: string) => unknown;
}

export interface ArgSpec {
  name: string;
  description: string;
  required: boolean;
  /** Takes every remaining positional (only the last one can). */
  variadic?: boolean;
  default?: string;
}

/** What a command module exports: it gets the global flags and its own parsed command line. */
export type CommandRun = (opts: GlobalOptions, cmd: ParsedCommand) => Promise<number>;

export interface CommandSpec {
  name: string;
  description: string;
  args?: readonly ArgSpec[];
  options?: readonly OptionSpec[];
  /** Printed verbatim after the command's --help. */
  helpAfter?: string;
  /** Opens a run context (inventory + vault), which writes the run log itself. */
  ownRunLog?: boolean;
  /** The global flags that narrow or dry-run (--check, --limit, --diff) this command implements; the
   *  others are refused, never silently ignored: `vault rekey --check` must not rekey. */
  honors?: readonly Scoping[];
  load: () => Promise<{ run: CommandRun }>;
}

/** Global flags a user relies on to limit what a command does. */
export const SCOPING = ["check", "limit", "diff"] as const;
export type Scoping = (typeof SCOPING)[number];

export interface ProgramSpec {
  name: string;
  version: string;
  description: string;
  globals: readonly OptionSpec[];
  commands: readonly CommandSpec[];
}

/** A command's own part of the command line. */
export interface ParsedCommand {
  name: string;
  /** One entry per declared argument: a string, a string[] for a variadic one, or undefined. */
  args: ReadonlyArray<string | string[] | undefined>;
  /** The command's own flags by key (`--allow-format` is `allowFormat`), defaults filled in; the command
   *  names the shape it declared in commands.ts. */
  opts<T extends object>(): Readonly<T>;
  /** The positionals as typed, for the run log. */
  rawArgs: readonly string[];
  /** How many positionals came before a `--` (all of them without one): `measure report F` is not `measure -- report F`. */
  beforeDashDash: number;
}

export type CommandLine =
  | { kind: "help"; command?: CommandSpec }
  | { kind: "version" }
  | { kind: "run"; command: CommandSpec; globals: GlobalOptions; parsed: ParsedCommand };

const HELP = opt("-h, --help", "show help");
const VERSION = opt("-V, --version", "print the version");

/** Declare a flag from its usage text: `-i, --inventory <file>`, `--check`, `--node <key=value>`. */
export function opt(flags: string, description: string, more: Partial<OptionSpec> = {}): OptionSpec {
  const m = /^(?:-(\w), )?--([a-z][a-z0-9-]*)(?: <([^>]+)>)?$/.exec(flags);
  if (!m) throw new Error(`bad flag declaration: ${flags}`);
  const [, short, long, value] = m as unknown as [string, string | undefined, string, string | undefined];
  const key = long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return { long, key, description, ...(short && { short }), ...(value && { value }), ...more };
}

/** Parse argv (without node and the script) against the program. Throws InputError on bad input. */
export function parseCommandLine(argv: readonly string[], program: ProgramSpec): CommandLine {
  const at = commandIndex(argv, program.globals);
  if (at === undefined) {
    const { values } = parse(argv, [...program.globals, HELP, VERSION], program.name);
    if (values.version) return { kind: "version" };
    if (values.help || argv.length === 0) return { kind: "help" };
    throw new InputError("no command given", `run \`${program.name} --help\` for the commands`);
  }
  const name = argv[at]!;
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (name === "help") {
    const target = rest.find((a) => !a.startsWith("-"));
    return { kind: "help", ...(target !== undefined && { command: findCommand(target, program) }) };
  }
  const command = findCommand(name, program);
  const own = command.options ?? [];
  const where = `${program.name} ${name}`;
  const { values, positionals, beforeDashDash } = parse(rest, [...program.globals, ...own, HELP], where);
  if (values.help) return { kind: "help", command };

  for (const flag of SCOPING) {
    if (values[flag] !== undefined && !command.honors?.includes(flag))
      throw new InputError(
        `--${flag} does not apply to \`${where}\`: it would be ignored`,
        `remove --${flag}; it applies to ${program.commands
          .filter((c) => c.honors?.includes(flag))
          .map((c) => c.name)
          .join(", ")}`,
      );
  }
  const options = resolveOptions(own, values, where);
  return {
    kind: "run",
    command,
    // commands.ts declares exactly GlobalOptions' fields as the program's globals.
    globals: resolveOptions(program.globals, values, where) as unknown as GlobalOptions,
    parsed: {
      name,
      args: resolveArgs(command, positionals, where),
      opts: <T>() => options as T,
      rawArgs: positionals,
      beforeDashDash,
    },
  };
}

function findCommand(name: string, program: ProgramSpec): CommandSpec {
  const command = program.commands.find((c) => c.name === name);
  if (command) return command;
  const near = closest(
    name,
    program.commands.map((c) => c.name),
  );
  throw new InputError(
    `unknown command \`${name}\``,
    near
      ? `did you mean \`${program.name} ${near}\`?`
      : `commands: ${program.commands.map((c) => c.name).join(", ")}`,
  );
}

/**
 * Where the command's name is: the first word that is neither a flag nor a global flag's value, so
 * global flags may come before the command (`powerstack -i inv.yaml up`) as well as after it.
 */
function commandIndex(argv: readonly string[], globals: readonly OptionSpec[]): number | undefined {
  const takesValue = new Set<string>();
  for (const o of globals) {
    if (!o.value) continue;
    takesValue.add(`--${o.long}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return undefined;
    if (!a.startsWith("-") || a === "-") return i;
    if (takesValue.has(a)) i++;
  }
  return undefined;
}

type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

function parse(args: readonly string[], specs: readonly OptionSpec[], where: string) {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const o of specs) {
    options[o.long] = {
      type: o.value ? "string" : "boolean",
      ...(o.short && { short: o.short }),
      ...((o.repeatable || o.counted) && { multiple: true }),
    };
  }
  try {
    const { values, positionals, tokens } = parseArgs({
      args: joinNegativeValues(args, specs),
      options,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
    const dashDash = tokens.find((t) => t.kind === "option-terminator")?.index ?? Infinity;
    const beforeDashDash = tokens.filter((t) => t.kind === "positional" && t.index < dashDash).length;
    return { values: values as Values, positionals, beforeDashDash };
  } catch (err) {
    throw usageError(err, specs, where);
  }
}

/**
 * `--forks -1`: parseArgs takes a value that starts with "-" for a flag and calls it missing, so the user
 * would hear "needs a value" for a value they gave. A negative number is never a flag: pass it as the
 * flag's value (`--forks=-1`), for the flag's own check to say what is wrong with it. Stops at `--`.
 */
function joinNegativeValues(args: readonly string[], specs: readonly OptionSpec[]): string[] {
  const valued = new Map<string, string>();
  for (const o of specs) {
    if (!o.value) continue;
    valued.set(`--${o.long}`, o.long);
    if (o.short) valued.set(`-${o.short}`, o.long);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const long = valued.get(a);
    const next = args[i + 1];
    if (long !== undefined && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' errors, reworded to name the flag, what is wrong and how to fix it. */
function usageError(err: unknown, specs: readonly OptionSpec[], where: string): InputError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const help = `run \`${where} --help\` for its flags`;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'(-[^']*)'/.exec(message)?.[1] ?? message;
    const near = flag.startsWith("--") ? nearestFlag(flag.slice(2).replace(/=.*/, ""), specs) : undefined;
    return new InputError(
      `unknown flag ${flag} for \`${where}\``,
      near
        ? `did you mean --${near}? (${help})`
        : `${help}; to pass a word that starts with "-" as an argument, put it after --`,
    );
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /--([a-z0-9-]+)/.exec(message)?.[1];
    const spec = specs.find((o) => o.long === flag);
    if (spec?.value)
      return new InputError(
        `--${spec.long} needs a value (<${spec.value}>)`,
        `e.g. --${spec.long}=<${spec.value}>`,
      );
    if (spec) return new InputError(`--${spec.long} takes no value`, `write just --${spec.long}`);
  }
  return new InputError(message, help);
}

/** A typo (`--chek`) or a shortened flag (`--purge` for `--purge-data`). */
function nearestFlag(typed: string, specs: readonly OptionSpec[]): string | undefined {
  const longs = specs.map((o) => o.long);
  const prefixed = longs.filter((l) => l.startsWith(typed));
  return typed.length >= 3 && prefixed.length === 1 ? prefixed[0] : closest(typed, longs);
}

function resolveOptions(
  specs: readonly OptionSpec[],
  values: Values,
  where: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of specs) {
    const raw = values[o.long];
    if (raw === undefined) {
      if (o.counted) out[o.key] = 0;
      else if (!o.value) out[o.key] = false;
      else if (o.repeatable) out[o.key] = [...((o.default as string[] | undefined) ?? [])];
      else if (o.default !== undefined) out[o.key] = o.default;
      continue;
    }
    if (o.counted) {
      out[o.key] = (raw as unknown[]).length;
      continue;
    }
    const texts = (Array.isArray(raw) ? raw : [raw]).map(String);
    for (const t of texts) {
      if (o.choices && !o.choices.includes(t))
        throw new InputError(
          `--${o.long} ${t} is not one of ${o.choices.join(", ")}`,
          `run \`${where} --help\` for its flags`,
        );
    }
    const parsed = o.parse ? texts.map((t) => o.parse!(t)) : o.value ? texts : texts.map(() => true);
    out[o.key] = o.repeatable ? parsed : parsed.at(-1);
  }
  return out;
}

function resolveArgs(
  command: CommandSpec,
  positionals: string[],
  where: string,
): Array<string | string[] | undefined> {
  const specs = command.args ?? [];
  const out: Array<string | string[] | undefined> = [];
  let i = 0;
  for (const a of specs) {
    if (a.variadic) {
      const rest = positionals.slice(i);
      i = positionals.length;
      if (a.required && rest.length === 0) throw missing(a, where);
      out.push(rest.length ? rest : undefined);
      continue;
    }
    const v = positionals[i++];
    if (v === undefined && a.required) throw missing(a, where);
    out.push(v ?? a.default);
  }
  if (i < positionals.length) {
    throw new InputError(
      `\`${where}\` takes ${specs.length ? specs.map(usageOf).join(" ") : "no arguments"}, got the extra argument(s) ${positionals
        .slice(i)
        .map((p) => JSON.stringify(p))
        .join(" ")}`,
      `run \`${where} --help\` for its usage`,
    );
  }
  return out;
}

function missing(a: ArgSpec, where: string): InputError {
  return new InputError(
    `\`${where}\` needs ${usageOf(a)}: ${a.description}`,
    `run \`${where} --help\` for its usage`,
  );
}

/** `<action>`, `[file]`, `<command...>`. */
export function usageOf(a: ArgSpec): string {
  const inner = `${a.name}${a.variadic ? "..." : ""}`;
  return a.required ? `<${inner}>` : `[${inner}]`;
}
