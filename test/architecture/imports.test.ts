/**
 * Arrows point down (issue 17 item 5): the CLI sits on top and nothing below it reaches back up. A role
 * or the engine that imports src/cli (even a type) ties the layers into one circle, and the next module
 * copies the shortcut; these tests keep the graph a stack.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { findCycles, importGraph, importSpecifiers } from "./import-graph.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const graph = importGraph(ROOT, ["src", "roles", "bin"]);

/** Every `importer → imported` edge where the importer matches `from` and the imported file matches `to`. */
function edges(from: (file: string) => boolean, to: (file: string) => boolean): string[] {
  return [...graph].flatMap(([file, targets]) =>
    from(file) ? targets.filter(to).map((t) => `${file} → ${t}`) : [],
  );
}

describe("import graph of src/, roles/ and bin/", () => {
  test("is read from the tree (sanity: the entry point and a role are in it)", () => {
    expect(graph.get("bin/powerstack.ts")).toContain("src/cli/main.ts");
    expect(graph.get("src/engine/role-registry.ts")).toContain("roles/kernel/index.ts");
    expect(graph.size).toBeGreaterThan(100);
  });

  test("has no cycle", () => {
    const cycles = findCycles(graph).map(
      (c) => `${c.cycle.join(" → ")}\n  (${c.files.length} files reach each other: ${c.files.join(", ")})`,
    );
    expect(
      cycles,
      `import cycles (break each by moving the shared piece down a layer):\n${cycles.join("\n")}`,
    ).toEqual([]);
  });

  test("nothing outside src/cli and bin/ imports src/cli", () => {
    const up = edges(
      (f) => !f.startsWith("src/cli/") && !f.startsWith("bin/"),
      (t) => t.startsWith("src/cli/"),
    );
    expect(up, "move what the importer needs out of src/cli, or take it as a parameter").toEqual([]);
  });

  test("roles and the engine never import src/ui", () => {
    const up = edges(
      (f) => f.startsWith("roles/") || f.startsWith("src/engine/"),
      (t) => t.startsWith("src/ui/"),
    );
    expect(up, "the engine reports events; rendering them is the UI's job").toEqual([]);
  });
});

describe("the graph reader", () => {
  test("sees every kind of import: type-only, re-export, dynamic, import-type and require", () => {
    const text = [
      `import a from "./a.js";`,
      `import type { B } from "./b.js";`,
      `import { type C } from "./c.js";`,
      `export { d } from "./d.js";`,
      `export * from "./e.js";`,
      `export type { F } from "./f.js";`,
      `import "./g.js";`,
      `const h = await import("./h.js");`,
      `let i: import("./i.js").I;`,
      `import j = require("./j.js");`,
      `const k = import(variable);`,
      `// import x from "./comment.js";`,
      `const s = "import y from './string.js'";`,
    ].join("\n");
    expect(importSpecifiers(text)).toEqual([
      "./a.js",
      "./b.js",
      "./c.js",
      "./d.js",
      "./e.js",
      "./f.js",
      "./g.js",
      "./h.js",
      "./i.js",
      "./j.js",
    ]);
  });

  test("names each cycle's files in import order, and not a chain without one", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", []],
      ["e", ["e"]],
      ["f", ["a"]],
    ]);
    expect(findCycles(g).sort((x, y) => x.cycle[0]!.localeCompare(y.cycle[0]!))).toEqual([
      { files: ["a", "b", "c"], cycle: ["a", "b", "c", "a"] },
      { files: ["e"], cycle: ["e", "e"] },
    ]);
    expect(
      findCycles(
        new Map([
          ["x", ["y"]],
          ["y", []],
        ]),
      ),
    ).toEqual([]);
  });
});
