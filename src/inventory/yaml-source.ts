/**
 * The inventory's YAML, parsed as a mistaken or hostile file needs: one syntax error reported, at the
 * place to fix and in words that do not quote the file (it may be a password file given by mistake);
 * duplicate keys named with both lines; aliases that would expand without bound ("billion laughs")
 * refused before anything expands them.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type YAMLError,
} from "yaml";
import { excerpt, formatPath, MAX_LISTED_PROBLEMS, type Path, type Problem } from "./schema-walker.js";

/** More values than aliases may add to a document; an inventory written out by hand adds a few dozen. */
export const MAX_ALIAS_EXPANSION = 10_000;

export type ParsedYaml =
  | { ok: true; doc: Document; lines: LineCounter; data: unknown }
  | { ok: false; problems: Problem[]; unlisted: number };

export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  // Duplicate keys are found below in one pass: the parser's own check compares every key with every
  // other key of its mapping, minutes for a large one.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number, key: string, message: string, fix: string): Problem => {
    const { line, col } = lines.linePos(Math.max(0, Math.min(offset, lastCharOffset(text))));
    return { file, line, col, key, message, fix };
  };
  if (doc.errors.length > 0) return { ok: false, problems: [syntaxProblem(doc, text, at)], unlisted: 0 };

  const found: Problem[] = [];
  let unlisted = 0;
  const report = (p: Problem) => (found.length < MAX_LISTED_PROBLEMS ? found.push(p) : unlisted++);
  checkStructure(doc, lines, at, report);
  if (found.length > 0) return { ok: false, problems: found, unlisted };
  try {
    return { ok: true, doc, lines, data: doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }) };
  } catch (err) {
    // checkStructure bounds the aliases first, so this is a case it does not know: still an input error.
    const message = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      problems: [
        at(0, "(yaml)", `cannot read the YAML: ${excerpt(message)}`, "simplify the anchors and aliases"),
      ],
      unlisted: 0,
    };
  }
}

type At = (offset: number, key: string, message: string, fix: string) => Problem;

function lastCharOffset(text: string): number {
  let end = text.length - 1;
  while (end > 0 && (text[end] === "\n" || text[end] === "\r")) end--;
  return Math.max(0, end);
}

/**
 * The one syntax error worth reading. After the first, the parser's errors are mostly its recovery
 * talking (one tab gives a dozen), so only the first is reported, or the tab that caused it.
 */
function syntaxProblem(doc: Document, text: string, at: At): Problem {
  const errors = doc.errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.pos[0] - b.e.pos[0] || a.i - b.i)
    .map(({ e }) => e);
  const first = errors[0]!;
  const tabError = errors.find((e) => e.code === "TAB_AS_INDENT");
  const tab = indentTab(text, tabError?.pos[0] ?? first.pos[0]);
  if (tab !== undefined) {
    return at(
      tab,
      "(yaml)",
      "a tab in the indentation: YAML indents with spaces only",
      "replace the tab with spaces, as many as the lines around it use",
    );
  }
  if (first.code === "MISSING_CHAR" && /closing .?quote/.test(first.message)) {
    const quote = first.message.includes('"') ? '"' : "'";
    return at(
      openingQuote(doc, text, first.pos[0], quote),
      "(yaml)",
      `the ${quote === '"' ? "double" : "single"} quote opened here is never closed: the string runs to the end of the file`,
      `close it with ${quote}, or write the value without quotes`,
    );
  }
  const { message, fix } = describeYamlError(first);
  return at(first.pos[0], "(yaml)", message, fix);
}

/** The offset of a tab in the indentation of the line holding `offset`, if there is one. */
function indentTab(text: string, offset: number): number | undefined {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  for (let i = start; i < text.length && (text[i] === " " || text[i] === "\t"); i++) {
    if (text[i] === "\t") return i;
  }
  return undefined;
}

/** Where the unclosed quoted string starts: the parser reports its end, past the end of the file. */
function openingQuote(doc: Document, text: string, errorAt: number, quote: string): number {
  let best = -1;
  const visitNode = (node: unknown): void => {
    if (isScalar(node)) {
      const start = node.range?.[0];
      if (start !== undefined && start < errorAt && start > best && text[start] === quote) best = start;
    } else if (isMap(node)) {
      for (const p of node.items) {
        visitNode(p.key);
        visitNode(p.value);
      }
    } else if (isSeq(node)) node.items.forEach(visitNode);
  };
  visitNode(doc.contents);
  return best >= 0 ? best : errorAt;
}

/**
 * The parser's message in words that quote nothing of the file: a few of its messages include the text
 * they stumbled on (a whole binary file, for one), so those are replaced by what they mean.
 */
function describeYamlError(e: YAMLError): { message: string; fix: string } {
  const fix = "correct the YAML syntax here";
  const line = e.message.split("\n")[0]!;
  switch (e.code) {
    case "BAD_DQ_ESCAPE":
      return {
        message: "an invalid escape sequence in a double-quoted string",
        fix: "write \\\\ for a backslash, or use single quotes",
      };
    case "TAG_RESOLVE_FAILED":
      return { message: "an unknown YAML tag (`!...`)", fix: "remove the tag: an inventory needs none" };
    case "BAD_DIRECTIVE":
      return { message: "an invalid `%` directive", fix: "remove the line starting with `%`" };
    case "RESOURCE_EXHAUSTION":
      return {
        message: "the values nest too deeply here for the parser",
        fix: "an inventory nests a few levels deep: is this the right file?",
      };
    case "MULTIPLE_DOCS":
      return { message: "a second YAML document (after `---`)", fix: "keep one document in the file" };
    case "UNEXPECTED_TOKEN": {
      // Keep "Unexpected scalar at node end" and the like, never what follows a colon: the text itself.
      const known = /^Unexpected [a-z-]+ (token( in YAML (stream|document))?|at node end)/.exec(line);
      return { message: known ? known[0] : "unexpected text here", fix };
    }
    default:
      return { message: excerptMessage(line), fix };
  }
}

/** A parser message, bounded: the remaining ones quote at most an indicator character. */
function excerptMessage(line: string): string {
  const printable = line.replace(/[\p{C}]/gu, "\uFFFD");
  return printable.length > 120 ? `${printable.slice(0, 119)}…` : printable;
}

/**
 * One pass over the parsed document: duplicate keys (each named, with the line of the first), aliases
 * without an anchor, and the number of values the aliases add, refused past MAX_ALIAS_EXPANSION at the
 * alias that crosses it.
 */
function checkStructure(doc: Document, lines: LineCounter, at: At, report: (p: Problem) => void): void {
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  let added = 0;
  let bombed = false;
  const lineOf = (node: Node) => lines.linePos(node.range?.[0] ?? 0).line;

  // The number of values `node` stands for once every alias in it is expanded.
  const visitNode = (node: unknown, path: Path): number => {
    if (bombed || !node || typeof node !== "object") return 1;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) {
        report(
          at(
            node.range?.[0] ?? 0,
            formatPath(path),
            `alias \`*${excerpt(node.source)}\` has no anchor \`&${excerpt(node.source)}\` before it`,
            "define the anchor before the alias, or write the value out",
          ),
        );
        return 1;
      }
      const size = sizes.get(target) ?? 1;
      added += size;
      if (added > MAX_ALIAS_EXPANSION) {
        bombed = true;
        report(
          at(
            node.range?.[0] ?? 0,
            formatPath(path),
            `aliases expand the file past ${MAX_ALIAS_EXPANSION} values here (an alias bomb?)`,
            "write the values out instead of nesting aliases",
          ),
        );
      }
      return size;
    }
    let size = 1;
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key !== undefined) {
          const first = seen.get(key);
          if (first) {
            report(
              at(
                (pair.key as Node).range?.[0] ?? 0,
                formatPath([...path, key]),
                `duplicate key \`${excerpt(key)}\` (first at line ${lineOf(first)}): YAML would keep only this one`,
                "remove one of the two, or merge them",
              ),
            );
          } else seen.set(key, pair.key as Node);
        }
        size +=
          visitNode(pair.key, path) - 1 + visitNode(pair.value, key === undefined ? path : [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => (size += visitNode(item, [...path, i])));
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) {
      anchors.set(anchor, node as Node);
      sizes.set(node as Node, size);
    }
    return size;
  };
  visitNode(doc.contents, []);
}
