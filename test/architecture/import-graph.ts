/**
 * The project's own import graph, read with the TypeScript parser (no type checking, so it is quick):
 * every `import`, `import type`, `export ... from`, `import x = require()`, dynamic `import("...")` and
 * type-position `import("...").T` whose specifier is a relative path. Package imports are not edges.
 * A type-only import is an edge like any other: it still ties the importer to the imported file's layer.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** Every module specifier a source text names, in order of appearance. */
export function importSpecifiers(text: string, fileName = "file.ts"): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** `./x.js` (NodeNext style) is the source file `./x.ts`; undefined for a package or a non-TS file. */
function resolveSpecifier(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")];
  return candidates.find((c) => c.endsWith(".ts") && existsSync(c));
}

/** Repository-relative path with forward slashes, as the test messages show it. */
export type RepoPath = string;

/** File → the files it imports, for every .ts file under `dirs` of `root`. */
export function importGraph(root: string, dirs: readonly string[]): Map<RepoPath, RepoPath[]> {
  const rel = (abs: string) => relative(root, abs).split(sep).join("/");
  const graph = new Map<RepoPath, RepoPath[]>();
  for (const file of dirs.flatMap((d) => tsFiles(join(root, d)))) {
    const targets = importSpecifiers(readFileSync(file, "utf8"), file)
      .map((s) => resolveSpecifier(file, s))
      .filter((t): t is string => t !== undefined)
      .map(rel);
    graph.set(rel(file), [...new Set(targets)]);
  }
  return graph;
}

/** A set of files that all reach each other, and one cycle through them. */
export interface ImportCycle {
  /** Every file of the strongly connected component, sorted. */
  files: string[];
  /** One cycle in import order, the first file repeated at the end: `a → b → c → a`. */
  cycle: string[];
}

/**
 * Every cycle, one per strongly connected component (Tarjan). A component can hold several cycles;
 * breaking the one shown and rerunning shows the next.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): ImportCycle[] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return components.map((c) => ({ files: c.sort(), cycle: cycleWithin(graph, new Set(c)) }));
}

/** One cycle through the component's first file (sorted), found by a breadth-first walk inside it. */
function cycleWithin(graph: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0]!)!);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
