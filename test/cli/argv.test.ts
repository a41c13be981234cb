/**
 * The command line: argv parsed against the real command table (src/cli/commands.ts), and the help and
 * errors a user sees through `main()`.
 */
import { describe, expect, it } from "vitest";
import { parseCommandLine, type CommandLine } from "../../src/cli/argv.js";
import { PROGRAM } from "../../src/cli/commands.js";
import { commandHelp, programHelp } from "../../src/cli/help.js";
import { InputError } from "../../src/errors.js";
import { powerstackInProcess } from "../energy/cli.js";

function run(argv: string[]) {
  const line: CommandLine = parseCommandLine(argv, PROGRAM);
  if (line.kind !== "run") throw new Error(`expected a command to run, got ${line.kind}`);
  return line;
}

function usageError(argv: string[]): InputError {
  try {
    parseCommandLine(argv, PROGRAM);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error(`${argv.join(" ")} parsed without error`);
}

describe("parsing", () => {
  it("takes global flags before and after the command, with defaults for the rest", () => {
    const { command, globals } = run([
      "-i",
      "lab.yaml",
      "--check",
      "up",
      "--limit",
      "workers",
      "-vv",
      "--forks=3",
    ]);
    expect(command.name).toBe("up");
    expect(globals).toEqual({
      inventory: "lab.yaml",
      limit: "workers",
      check: true,
      diff: false,
      json: false,
      yes: false,
      verbose: 2,
      forks: 3,
      logDir: process.env.POWERSTACK_LOG_DIR ?? "logs",
    });
  });

  it("gives a command its own flags by camelCase key, defaults filled in", () => {
    const up = run(["up", "--allow-format", "/dev/sdb", "--only", "kernel,storage"]).parsed;
    expect(up.opts()).toEqual({ allowFormat: "/dev/sdb", only: "kernel,storage" });
    expect(run(["energy"]).parsed.opts()).toEqual({ since: "1h", by: "node", csv: false });
    expect(run(["power", "status"]).parsed.opts()).toEqual({ drainTimeout: "300" });
  });

  it("keeps every occurrence of a repeatable flag, in order", () => {
    const init = run([
      "init",
      "--defaults",
      "--node",
      "name=a,role=control",
      "--set",
      "x=1",
      "--node",
      "name=b",
    ]);
    expect(init.parsed.opts()).toEqual({
      defaults: true,
      vault: "vault/vault.yaml",
      node: ["name=a,role=control", "name=b"],
      set: ["x=1"],
    });
  });

  it("fills positionals in order: defaults, variadic rest, and everything after -- as words", () => {
    expect(run(["vault", "view"]).parsed.args).toEqual(["view", "vault/vault.yaml"]);
    expect(run(["power", "status", "n1", "n2"]).parsed.args).toEqual(["status", ["n1", "n2"]]);
    expect(run(["power", "status"]).parsed.args).toEqual(["status", undefined]);
    const measure = run([
      "--json",
      "measure",
      "--by",
      "pod",
      "--",
      "stress-ng",
      "-c",
      "2",
      "--timeout",
      "5s",
    ]);
    expect(measure.parsed.args).toEqual([["stress-ng", "-c", "2", "--timeout", "5s"]]);
    expect(measure.parsed.opts()).toMatchObject({ by: "pod" });
    expect(measure.globals.json).toBe(true);
  });

  it("asks for help and the version in every usual spelling", () => {
    expect(parseCommandLine([], PROGRAM)).toEqual({ kind: "help" });
    expect(parseCommandLine(["--help"], PROGRAM)).toEqual({ kind: "help" });
    expect(parseCommandLine(["-V"], PROGRAM)).toEqual({ kind: "version" });
    for (const argv of [
      ["up", "--help"],
      ["up", "-h"],
      ["help", "up"],
      ["-i", "x.yaml", "up", "--help"],
    ]) {
      const line = parseCommandLine(argv, PROGRAM);
      expect(line.kind === "help" && line.command?.name).toBe("up");
    }
  });
});

describe("bad command lines: what is wrong and how to fix it", () => {
  it.each([
    [["upp"], "unknown command `upp`", "did you mean `powerstack up`?"],
    [["up", "--chek"], "unknown flag --chek for `powerstack up`", "did you mean --check?"],
    [["teardown", "--purge"], "unknown flag --purge for `powerstack teardown`", "did you mean --purge-data?"],
    [["measure", "stress", "-q"], "unknown flag -q", "put it after --"],
    [["up", "-i"], "--inventory needs a value (<file>)", "--inventory=<file>"],
    [["up", "--check=yes"], "--check takes no value", "write just --check"],
    [["energy", "--by", "rack"], "--by rack is not one of node, namespace, pod", "powerstack energy --help"],
    [["vault"], "`powerstack vault` needs <action>", "powerstack vault --help"],
    [["up", "extra"], '`powerstack up` takes no arguments, got the extra argument(s) "extra"', "--help"],
    [["--forks", "0", "up"], '--forks must be a whole number ≥ 1, got "0"', "e.g. --forks 20"],
    // A negative number is the flag's value, not a missing one (issue 16 item 8).
    [["--forks", "-1", "up"], '--forks must be a whole number ≥ 1, got "-1"', "e.g. --forks 20"],
    [["up", "--forks=-1"], '--forks must be a whole number ≥ 1, got "-1"', "e.g. --forks 20"],
    [["up", "--forks", "2.5"], '--forks must be a whole number ≥ 1, got "2.5"', "e.g. --forks 20"],
    // An empty --limit is refused, never taken as "every host" nor as "no host" (issue 16 item 8).
    [["teardown", "--yes", "--limit", ""], '--limit "" names no node or group', "leave --limit out"],
    [["up", "--limit="], '--limit "" names no node or group', "leave --limit out"],
    [["up", "--limit", ","], '--limit "," names no node or group', "leave --limit out"],
    [["up", "--limit", " , "], '--limit " , " names no node or group', "leave --limit out"],
    [["up", "--limit", "ctl,"], '--limit "ctl," has an empty entry', "e.g. --limit ctl,workers"],
    [["power", "status", "--limit", ""], '--limit "" names no node or group', "leave --limit out"],
    [["up", "--only", ""], '--only "" names no role', "leave --only out"],
    [["teardown", "--skip", ","], '--skip "," names no role', "leave --skip out"],
    [["--check"], "no command given", "powerstack --help"],
    [
      ["vault", "rekey", "--check"],
      "--check does not apply to `powerstack vault`",
      "it applies to up, teardown, power",
    ],
    [["--limit", "w1", "verify"], "--limit does not apply to `powerstack verify`", "remove --limit"],
    [
      ["measure", "--diff", "--", "true"],
      "--diff does not apply to `powerstack measure`",
      "it applies to up, teardown",
    ],
  ])("%j", (argv, message, fix) => {
    const err = usageError(argv);
    expect(err.message).toContain(message);
    if (fix) expect(err.fix).toContain(fix);
    expect(err.exitCode).toBe(2);
  });
});

describe("help", () => {
  it("lists every command and global flag, and each command's flags, arguments and notes", () => {
    const top = programHelp(PROGRAM, 100);
    for (const c of PROGRAM.commands) expect(top).toContain(`  ${c.name} `);
    for (const o of PROGRAM.globals) expect(top).toContain(`--${o.long}`);
    for (const c of PROGRAM.commands) {
      const help = commandHelp(PROGRAM, c, 100);
      expect(help).toContain(`Usage: powerstack ${c.name}`);
      for (const o of c.options ?? []) expect(help).toContain(`--${o.long}${o.value ? ` <${o.value}>` : ""}`);
      for (const a of c.args ?? []) expect(help).toContain(`  ${a.name}  `);
      if (c.helpAfter) expect(help).toContain(c.helpAfter);
    }
  });

  it("offers --check, --limit and --diff only to the commands that implement them", () => {
    const help = (name: string) =>
      commandHelp(
        PROGRAM,
        PROGRAM.commands.find((c) => c.name === name)!,
        100,
      );
    for (const flag of ["--check", "--limit", "--diff"]) expect(help("up")).toContain(flag);
    for (const name of ["vault", "init", "verify", "energy", "measure"]) {
      expect(help(name)).not.toMatch(/--check|--limit|--diff/);
    }
    expect(help("power")).toContain("--check");
  });

  it("wraps descriptions under their own column, never past the width", () => {
    // As a user sees it: the tests' POWERSTACK_LOG_DIR (a path in the run's temp root, as long as TMPDIR
    // makes it) would be one unbreakable word in --log-dir's default.
    const asUserSees = {
      ...PROGRAM,
      globals: PROGRAM.globals.map((o) => (o.long === "log-dir" ? { ...o, default: "logs" } : o)),
    };
    const help = programHelp(asUserSees, 80);
    for (const line of help.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    expect(help).toMatch(/\n {30,}\S/); // a continuation line, indented to the description column
  });

  it("prints to stdout and exits 0; a bad command line prints one error and the fix and exits 2", async () => {
    const help = await powerstackInProcess(["teardown", "--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toContain("--purge-data");
    const version = await powerstackInProcess(["--version"]);
    expect(version).toEqual({ code: 0, stdout: `${PROGRAM.version}\n`, stderr: "" });
    const bad = await powerstackInProcess(["up", "--chek"]);
    expect(bad).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "powerstack: unknown flag --chek for `powerstack up`\n" +
        "  fix: did you mean --check? (run `powerstack up --help` for its flags)\n",
    });
  });
});

describe("flags that would widen or empty a run are refused before anything is read (issue 16 item 8)", () => {
  it('`teardown --yes --limit ""` exits 2 before the inventory is opened, instead of tearing down every node', async () => {
    // The inventory does not exist: the refusal comes first, so no node could have been contacted.
    const r = await powerstackInProcess([
      "-i",
      "/nonexistent/inventory.yaml",
      "teardown",
      "--yes",
      "--limit",
      "",
    ]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr:
        'powerstack: --limit "" names no node or group: an empty --limit is refused, not taken as every node\n' +
        "  fix: name nodes or groups (all, control, workers), e.g. --limit ctl,workers; to run on every node, leave --limit out\n",
    });
  });

  it("`--limit ,` exits 2 instead of running nothing and exiting 0", async () => {
    const r = await powerstackInProcess(["-i", "/nonexistent/inventory.yaml", "up", "--limit", ","]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('powerstack: --limit "," names no node or group');
  });

  it("`--forks -1` says what the value must be, not that it is missing", async () => {
    const r = await powerstackInProcess(["up", "--forks", "-1"]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: 'powerstack: --forks must be a whole number ≥ 1, got "-1"\n  fix: e.g. --forks 20\n',
    });
  });

  it("`--only X --skip X` exits 2 naming the role, before the inventory is opened", async () => {
    const r = await powerstackInProcess([
      "-i",
      "/nonexistent/inventory.yaml",
      "up",
      "--only",
      "kernel,storage",
      "--skip",
      "kernel",
    ]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "powerstack: --only and --skip both name `kernel`: the role would be skipped\n" +
        "  fix: name each role in only one of the two\n",
    });
  });
});
