/**
 * The module contract (issue 17 items 1 and 2), held by tests rather than by review:
 *  - apply executes typed actions: no module or role re-derives what to do from a summary's wording or
 *    from whether a diff is present (the old k3s, mount, service and sysctl did; the next module would
 *    copy them);
 *  - every file in src/modules exports a Module of the new shape (reads, plan, describe, apply), or is a
 *    named helper that is not one;
 *  - the compiler rejects a task whose params do not fit its module (task-params.typecheck.ts).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MODULES = join(ROOT, "src/modules");

/**
 * Prose dispatch: deciding what to run from a rendered summary or a diff's presence. Each pattern is
 * checked below against the old code it was written to catch.
 */
const PROSE_DISPATCH: Array<[RegExp, string]> = [
  [/\bsummary\s*\.\s*(startsWith|endsWith|includes|match|search)\s*\(/, "a summary's wording"],
  [/\bsummary\s*[!=]==?|[!=]==?\s*[\w.]*\bsummary\b/, "a summary compared"],
  [/\bchanges\s*\.\s*(some|find|findIndex|filter|every)\s*\(/, "a search of the planned changes"],
  [/\bc\.summary\b/, "a change's summary"],
  [/=>\s*!*\s*\w+\s*\.\s*diff\s*\)/, "whether a diff is present"],
];

/** `file:line: text (why)` for every line of `source` that dispatches on prose. */
function proseDispatch(file: string, source: string): string[] {
  return source
    .split("\n")
    .flatMap((line, i) =>
      PROSE_DISPATCH.filter(([re]) => re.test(line)).map(
        ([, why]) => `${file}:${i + 1}: ${line.trim()} (${why})`,
      ),
    );
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

describe("apply dispatches on typed actions, never on prose", () => {
  test("the patterns catch the apply code issue 17 replaced", () => {
    // Lines of the old k3s, mount, service and sysctl apply (before the typed actions), verbatim.
    const old = [
      `const install = changes.some((c) => c.summary.startsWith("install"));`,
      `const images = airgap !== undefined && changes.some((c) => c.summary === imagesChange(airgap));`,
      `if (changes.some((c) => c.diff)) {`,
      `const fstab = changes.find((c) => c.diff);`,
      `if (changes.some((c) => c.summary.startsWith("enable"))) cmds.push(\`systemctl enable \${n}\`);`,
      `if (changes.some((c) => !c.diff)) await run(host, \`sysctl -q -w \${shq(\`\${p.name}=\${p.value}\`)}\`);`,
      // The same intent in other spellings.
      `if (plan.find((x) => x.summary.startsWith("restart"))) restart();`,
      `const write = planned.some((x) => !!x.diff);`,
      `if ("install" === change.summary) install();`,
    ];
    for (const line of old) expect(proseDispatch("old.ts", line), line).not.toEqual([]);
    // What the typed actions look like passes.
    const now = [
      `for (const a of actions) if (a.kind === "write-fstab") await writeFileAtomic(host, FSTAB, a.diff.after);`,
      `describe: (a) => \`\${a.summary}, enable IPMI over LAN (PATCH \${a.path})\`,`,
      `const diff = { path: p.path, before, after };`,
      `describe: (_a, p) => p.summary ?? \`run: \${p.cmd}\`,`,
    ];
    for (const line of now) expect(proseDispatch("new.ts", line), line).toEqual([]);
  });

  test("in src/modules and roles", () => {
    const files = [...tsFiles(MODULES), ...tsFiles(join(ROOT, "roles"))];
    expect(files.length).toBeGreaterThan(40);
    const found = files.flatMap((f) => proseDispatch(relative(ROOT, f), readFileSync(f, "utf8")));
    expect(found, `apply must switch on action.kind:\n${found.join("\n")}`).toEqual([]);
  });
});

describe("a module refuses with the documented error", () => {
  // PowerstackError/InputError carry the exit code and the fix; a plain Error reaches the user as a bare
  // message (the old copy, file, kubeconfig and sysctl plans threw one).
  const PLAIN = /\bnew\s+(Type|Range|Reference)?Error\s*\(/;

  test("the pattern catches the old plain errors", () => {
    expect(
      PLAIN.test(
        "throw new Error(`${p.path} exists and is a ${seen.kind}, not a file: remove or rename it`);",
      ),
    ).toBe(true);
    expect(
      PLAIN.test('throw new PowerstackError(`kernel parameter ${p.name} does not exist`, 1, "fix")'),
    ).toBe(false);
    expect(PLAIN.test("throw new CommandError(host.name, `write ${path}`, r.code, r.stderr);")).toBe(false);
  });

  test("no module throws a plain Error", () => {
    const found = tsFiles(MODULES).flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .flatMap((line, i) => (PLAIN.test(line) ? [`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found, "throw a PowerstackError (or InputError) with a fix").toEqual([]);
  });
});

describe("a plan's refusal carries its fix", () => {
  /** Arguments a refusal needs to carry a fix: PowerstackError(message, exitCode, fix), InputError(message, fix). */
  const WITH_FIX: Record<string, number> = { PowerstackError: 3, InputError: 2 };

  /** `file:line: Error(n args)` for each refusal without a fix written inside a module's `plan`. */
  function refusalsWithoutFix(file: string, text: string): string[] {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const visit = (node: ts.Node, inPlan: boolean): void => {
      const isPlan =
        (ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node)) &&
        ts.isIdentifier(node.name) &&
        node.name.text === "plan";
      if (inPlan && ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
        const need = WITH_FIX[node.expression.text];
        const args = node.arguments?.length ?? 0;
        if (need && args < need) {
          const line = sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          found.push(`${file}:${line}: ${node.expression.text} with ${args} argument(s), no fix`);
        }
      }
      ts.forEachChild(node, (child) => visit(child, inPlan || isPlan));
    };
    visit(sf, false);
    return found;
  }

  test("the check finds a refusal without a fix in plan, and only there", () => {
    const sample = [
      "const m = {",
      "  plan(seen) { if (seen.bad) throw new PowerstackError(`bad: ${seen.bad}`); return []; },",
      '  apply() { throw new PowerstackError("not in plan"); },',
      "};",
      'const n = { plan: (s) => { throw new InputError("x", "fix: y"); } };',
    ].join("\n");
    expect(refusalsWithoutFix("sample.ts", sample)).toEqual([
      "sample.ts:2: PowerstackError with 1 argument(s), no fix",
    ]);
  });

  test("in every module", () => {
    const found = tsFiles(MODULES).flatMap((f) =>
      refusalsWithoutFix(relative(ROOT, f), readFileSync(f, "utf8")),
    );
    expect(found, "give the refusal its fix (PowerstackError's third argument)").toEqual([]);
  });
});

/** Files of src/modules that hold no module, and why; any other file must export one. */
const HELPERS: Record<string, string> = {
  "chart-source.ts": "where a Helm chart comes from, shared by helm-release and helm-binary",
  "cluster-read.ts": "the facts that read the cluster (clusterRead, k3sInstalled), shared by modules",
  "remote-file.ts": "the atomic writer (writeFileAtomic) that file, copy, mount and others apply with",
};

describe("every file in src/modules exports a Module of the contract", async () => {
  const files = readdirSync(MODULES)
    .filter((f) => f.endsWith(".ts"))
    .sort();
  const exported = await Promise.all(
    files.map(async (f) => [f, (await import(join(MODULES, f))) as Record<string, unknown>] as const),
  );
  const isModuleLike = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && "plan" in v && "apply" in v;

  test("each file that is no named helper exports at least one", () => {
    const without = exported
      .filter(([f, m]) => !HELPERS[f] && !Object.values(m).some(isModuleLike))
      .map(([f]) => f);
    expect(
      without,
      "a file in src/modules without a Module (add one, or list it in HELPERS with why)",
    ).toEqual([]);
    expect(
      Object.keys(HELPERS).filter((f) => !files.includes(f)),
      "HELPERS names a file that is gone",
    ).toEqual([]);
  });

  test("reads, plan, describe, apply (and touches, if given) are functions; apply gets no observed state", () => {
    const modules = exported.flatMap(([f, m]) =>
      Object.entries(m)
        .filter(([, v]) => isModuleLike(v))
        .map(([name, v]) => [`${f} ${name}`, v as Record<string, unknown>] as const),
    );
    expect(modules.length).toBeGreaterThanOrEqual(24);
    const wrong = modules.flatMap(([where, m]) => {
      const problems: string[] = [];
      if (typeof m.name !== "string" || m.name === "") problems.push("no name");
      for (const fn of ["reads", "plan", "describe", "apply"])
        if (typeof m[fn] !== "function") problems.push(`no ${fn}()`);
      if ("probe" in m) problems.push("a probe() (the old contract: facts are named by reads())");
      if (m.touches !== undefined && typeof m.touches !== "function")
        problems.push("touches is not a function");
      // apply(ctx, actions, params): a fourth parameter would be the old `seen`, re-deriving intent from it.
      if (typeof m.apply === "function" && m.apply.length > 3)
        problems.push(`apply takes ${m.apply.length} parameters`);
      return problems.map((p) => `${where}: ${p}`);
    });
    expect(wrong).toEqual([]);
    const names = modules.map(([, m]) => m.name as string);
    expect(
      names.filter((n, i) => names.indexOf(n) !== i),
      "module names are shown in logs: unique",
    ).toEqual([]);
  });
});

describe("task params are checked by the compiler", { timeout: 180_000 }, () => {
  const FILE = join(ROOT, "test/architecture/task-params.typecheck.ts");
  const config = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const source = readFileSync(FILE, "utf8");
  /** Each `// @ts-expect-error <why>` line: the 1-based line it excuses (the next one) and the why. */
  const expected = source.split("\n").flatMap((line, i) => {
    const m = /^\s*\/\/ @ts-expect-error (\S+)/.exec(line);
    return m ? [{ line: i + 2, why: m[1]! }] : [];
  });

  /** The file's diagnostics, compiled alone (its imports followed) with `text` as its content. */
  function diagnostics(text: string, old?: ts.Program): { program: ts.Program; found: ts.Diagnostic[] } {
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, language, ...rest) =>
      name === FILE ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest);
    const program = ts.createProgram({ rootNames: [FILE], options, host, oldProgram: old });
    const sf = program.getSourceFile(FILE)!;
    return {
      program,
      found: [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)],
    };
  }
  const render = (d: ts.Diagnostic) => {
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 : 0;
    return { line, text: ts.flattenDiagnosticMessageText(d.messageText, " ") };
  };

  test("tsconfig.json covers the file, which marks three rejected tasks", () => {
    expect(ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT).fileNames).toContain(FILE);
    expect(expected.map((e) => e.why)).toEqual(["nmes", "number-to-string", "fstype"]);
  });

  let first: ts.Program | undefined;
  test("as written it compiles clean: every marked task is still rejected, the others accepted", () => {
    const { program, found } = diagnostics(source);
    first = program;
    expect(found.map(render)).toEqual([]);
  });

  test("without the markers, each marked line fails for its reason, and nothing else fails", () => {
    const bare = source.replace(/^\s*\/\/ @ts-expect-error .*$/gm, "");
    const { found } = diagnostics(bare, first);
    const errors = found.map(render);
    // The markers' lines became blank, so each rejected line is where it was.
    expect(errors.map((e) => e.line).sort((a, b) => a - b)).toEqual(expected.map((e) => e.line));
    const at = (line: number) => errors.find((e) => e.line === line)!.text;
    const [nmes, path, fstype] = expected;
    expect(at(nmes!.line)).toMatch(/'nmes' does not exist in type 'AptParams'/);
    expect(at(path!.line)).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(at(fstype!.line)).toMatch(/'fstype' does not exist in type 'AptParams'/);
  });
});
