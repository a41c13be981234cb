/** `--help`: usage, description, then aligned columns of flags and commands, wrapped to the terminal. */
import {
  SCOPING,
  usageOf,
  type CommandSpec,
  type OptionSpec,
  type ProgramSpec,
  type Scoping,
} from "./argv.js";

const HELP_ROW: Row = ["-h, --help", "show help"];

type Row = [term: string, description: string];

export function programHelp(program: ProgramSpec, width = columns()): string {
  const commands: Row[] = program.commands.map((c) => [commandUsage(c), c.description]);
  commands.push(["help [command]", "show help for a command"]);
  return [
    `Usage: ${program.name} [options] <command>`,
    "",
    program.description,
    "",
    "Options:",
    table([["-V, --version", "print the version"], ...program.globals.map(optionRow), HELP_ROW], width),
    "",
    "Commands:",
    table(commands, width),
    "",
  ].join("\n");
}

export function commandHelp(program: ProgramSpec, command: CommandSpec, width = columns()): string {
  const lines = [
    `Usage: ${program.name} ${commandUsage(command)}`,
    "",
    command.description,
    "",
    "Options:",
    table([...(command.options ?? []).map(optionRow), HELP_ROW], width),
  ];
  if (command.args?.length) {
    lines.push(
      "",
      "Arguments:",
      table(
        command.args.map((a) => [a.name, withDefault(a.description, a.default)]),
        width,
      ),
    );
  }
  // A dry-run or narrowing flag the command does not implement is refused, so it is not offered either.
  const globals = program.globals.filter(
    (o) => !(SCOPING as readonly string[]).includes(o.long) || command.honors?.includes(o.long as Scoping),
  );
  lines.push("", "Global options (before or after the command):", table(globals.map(optionRow), width));
  if (command.helpAfter) lines.push(command.helpAfter);
  return `${lines.join("\n")}\n`;
}

function commandUsage(c: CommandSpec): string {
  return [c.name, ...(c.options?.length ? ["[options]"] : []), ...(c.args ?? []).map(usageOf)].join(" ");
}

function optionRow(o: OptionSpec): Row {
  const flags = `${o.short ? `-${o.short}, ` : ""}--${o.long}${o.value ? ` <${o.value}>` : ""}`;
  let text = o.description;
  if (o.choices) text += ` (one of: ${o.choices.join(", ")})`;
  if (!o.repeatable && !o.counted) text = withDefault(text, o.default);
  return [flags, text];
}

function withDefault(text: string, value: unknown): string {
  return value === undefined ? text : `${text} (default: ${JSON.stringify(value)})`;
}

/** Two columns; descriptions wrap under themselves, never under the terms. */
function table(rows: readonly Row[], width: number): string {
  const termWidth = Math.max(...rows.map(([t]) => t.length));
  const textWidth = Math.max(30, width - termWidth - 4);
  return rows
    .map(([term, text]) =>
      wrap(text, textWidth)
        .map((line, i) => `  ${(i === 0 ? term : "").padEnd(termWidth)}  ${line}`.trimEnd())
        .join("\n"),
    )
    .join("\n");
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function columns(): number {
  return Math.min(process.stdout.columns || 100, 120);
}
