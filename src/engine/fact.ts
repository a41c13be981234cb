/**
 * Facts: named, typed reads of a host's state, the one way modules and `verify` look at a node (as
 * pyinfra's `host.get_fact(Mounts)`). A fact is a read-only shell snippet plus a parser (or, for what is
 * read from the operator's machine, such as a BMC, a local function). Facts are read through a host's
 * FactCache (fact-cache.ts): every fact the remaining tasks need in ONE remote command, each cached until
 * an action that could change it runs.
 *
 * A failed read is an error, not "absent": the parser sees the snippet's stdout, stderr and exit status
 * and throws a FactReadError (which carries the stderr) when the read did not work. Absence has to be
 * something the snippet says on purpose (e.g. `echo absent` after testing for the file).
 */
import { PowerstackError } from "../errors.js";

/** What a shell fact's snippet produced on the node. */
export interface FactOutput {
  stdout: string;
  stderr: string;
  code: number;
}

interface FactBase<A> {
  /** Unique name of the fact family ("file", "unit", "sysctl"); with the argument it keys the cache. */
  readonly name: string;
  /** The cache key of one argument (default: JSON of the argument). */
  key?(arg: A): string;
}

export interface ShellFact<T, A = void> extends FactBase<A> {
  /** POSIX sh, read-only, run in a subshell; stdout, stderr and the exit status go to `parse`. */
  command(arg: A): string;
  parse(out: FactOutput, arg: A): T;
}

/** A fact read from the operator's machine (HTTPS to a BMC, a file next to the inventory). */
export interface LocalFact<T, A = void> extends FactBase<A> {
  local(arg: A): Promise<T>;
}

export type FactDef<T, A = void> = ShellFact<T, A> | LocalFact<T, A>;

/** One fact for one argument: what a module asks for and an action says it changes. */
export interface FactRef<T> {
  readonly family: Fact<T, never>;
  readonly arg: unknown;
  readonly key: string;
  /** Brands the value type, so `Reads<Seen>` checks each ref against the field it fills. */
  readonly __value?: T;
}

/** A fact family: its definition plus `.of(arg)` to name one read of it. */
export type Fact<T, A = void> = FactDef<T, A> & {
  of(...arg: A extends void ? [] : [A]): FactRef<T>;
};

export function defineFact<T, A = void>(def: FactDef<T, A>): Fact<T, A> {
  const fact = {
    ...def,
    of(...args: unknown[]): FactRef<T> {
      const arg = args[0] as A;
      const key = `${def.name}:${def.key ? def.key(arg) : JSON.stringify(arg ?? null)}`;
      return { family: fact as unknown as Fact<T, never>, arg, key };
    },
  } as Fact<T, A>;
  return fact;
}

export const isShellFact = (f: FactDef<unknown, never>): f is ShellFact<unknown, never> => "command" in f;

/** What an action changes: one fact (a ref) or every argument of a fact family. */
export type Touch = FactRef<unknown> | Fact<unknown, never>;

/**
 * The facts a module reads, field by field: `{ fstab: file.of("/etc/fstab"), ... }`. A field that may be
 * undefined may also be given no fact at all (nothing to read: `plan` sees undefined).
 */
export type Reads<Seen> = {
  readonly [K in keyof Seen]: FactRef<Seen[K]> | (undefined extends Seen[K] ? undefined : never);
};

/** A read that did not work (permission denied, tool missing, I/O error): never taken as "absent". */
export class FactReadError extends PowerstackError {
  constructor(
    readonly fact: string,
    what: string,
    readonly out: FactOutput,
  ) {
    const tail = out.stderr.trim().split("\n").slice(-3).join("\n    ");
    super(`cannot read ${what} (exit ${out.code})${tail ? `:\n    ${tail}` : ""}`);
  }
}

/** The common case of a parser: exit 0 or the read failed. */
export function requireSuccess(fact: string, what: string, out: FactOutput): void {
  if (out.code !== 0) throw new FactReadError(fact, what, out);
}
