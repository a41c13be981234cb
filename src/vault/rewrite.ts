/**
 * Changing a vault the way its author wrote it. A value is set through the parsed YAML Document (so the
 * in-memory view is always the Document's), and the file's new text is the old text with only the changed
 * spans replaced: comments, blank lines, quoting, list and flow styles, block scalars and every untouched key
 * stay byte for byte, which a re-serialisation of the Document would not keep (it respaces comments and
 * flow collections and re-indents lists).
 *
 * When a change cannot be placed into the text (a new key inside a flow mapping `{…}`, a vault that was
 * empty), or the spliced text would not read back to exactly the Document's values, the whole Document is
 * serialised instead: comments survive that too, only the layout is normalised.
 */
import {
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
  YAMLMap,
  type Node,
  type Pair,
  type YAMLSeq,
} from "yaml";
import { InputError } from "../errors.js";
import { describeNode, leafPaths, secretAt, walkPath } from "./paths.js";

export const YAML_OPTIONS = { version: "1.1" } as const;

/** Scalars whose value `setPath` changed in place: their span of the source text is replaced. */
const changed = new WeakSet<Scalar>();

/**
 * Set the value at a dotted path (see paths.ts), creating the mappings missing on the way. An existing
 * value is updated in its node, so its comments and style stay. A path to a list or mapping, through a
 * single value, past a list's end, or through an alias is an InputError naming the path.
 */
export function setPath(doc: Document, path: string, value: string, source: string): void {
  const walk = walkPath(doc, path);
  if (walk.viaAlias) {
    throw new InputError(
      `${source}: vault key \`${path}\` goes through a YAML alias (*name); powerstack does not write there`,
      "change the anchored value with `powerstack vault edit`",
    );
  }
  const last = walk.steps.at(-1);
  if (walk.rest.length === 0 && last) {
    if (isMap(walk.node) || isSeq(walk.node)) {
      throw new InputError(
        `${source}: vault key \`${path}\` is a ${describeNode(walk.node)}; powerstack will not replace it with a single value`,
        "name a value inside it, or change the vault with `powerstack vault edit`",
      );
    }
    if (isScalar(walk.node)) {
      walk.node.value = value;
      changed.add(walk.node);
    } else if (last.pair) last.pair.value = doc.createNode(value);
    else (last.container as YAMLSeq).items[last.index!] = doc.createNode(value);
    return;
  }

  let parent = walk.node;
  if (walk.steps.length === 0 && (parent === null || parent === undefined)) {
    doc.contents = doc.createNode({}) as YAMLMap as never;
    parent = doc.contents;
  }
  if (!isMap(parent)) {
    const segments = path.split(".");
    const reached = segments.slice(0, segments.length - walk.rest.length).join(".");
    throw new InputError(
      isSeq(parent)
        ? `${source}: vault key \`${path}\`: the list \`${reached}\` has no item \`${walk.rest[0]}\` (it has ${parent.items.length})`
        : `${source}: vault key \`${path}\`: \`${reached}\` is a single value, it cannot hold \`${walk.rest.join(".")}\``,
      "change the vault's layout with `powerstack vault edit`",
    );
  }
  // The missing part becomes nested mappings: `a.b.c` under nothing is `a: {b: {c: value}}`.
  let nested: unknown = value;
  for (const segment of walk.rest.slice(1).reverse()) nested = { [segment]: nested };
  parent.add(doc.createPair(walk.rest[0], nested));
}

/**
 * The new text of a vault whose Document was parsed from `source` and then changed by `setPath`. Untouched
 * bytes are kept; see the file comment for when the whole Document is serialised instead.
 */
export function renderVault(source: string, doc: Document): string {
  const spliced = splice(source, doc);
  if (spliced !== undefined && sameValues(spliced, doc)) return spliced;
  return doc.toString({ lineWidth: 0 });
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function splice(source: string, doc: Document): string | undefined {
  const edits: Edit[] = [];
  if (!isMap(doc.contents) || !doc.contents.range) return undefined;
  if (!collectEdits(source, doc.contents, false, edits)) return undefined;
  let text = source;
  for (const e of edits.sort((a, b) => b.start - a.start))
    text = text.slice(0, e.start) + e.text + text.slice(e.end);
  return text;
}

/** Adds the edits under `node` to `edits`; false when one cannot be placed into the text. */
function collectEdits(source: string, node: unknown, inFlow: boolean, edits: Edit[]): boolean {
  if (isMap(node) || isSeq(node)) {
    const flow = inFlow || Boolean(node.flow);
    const added: Pair[] = [];
    for (const item of node.items) {
      const pair = isMap(node) ? (item as Pair) : undefined;
      const value = pair ? pair.value : item;
      if (pair && !(pair.key as Node | null)?.range) {
        added.push(pair);
        continue;
      }
      // An alias is never written through (setPath refuses), so its `*name` text stays as it is.
      if (isAlias(value)) continue;
      if (isMap(value) || isSeq(value) || isScalar(value)) {
        if ((value as Node).range) {
          if (!collectEdits(source, value, flow, edits)) return false;
          continue;
        }
      } else if (value === null || value === undefined) continue;
      // A value set where there was none (`key:` or `- `): written after the key's colon, or in the item's place.
      if (flow || !pair || !isScalar(value)) return false;
      const at = afterColon(source, (pair.key as Node).range![2]);
      if (at === undefined) return false;
      edits.push({ start: at, end: at, text: " " + inlineScalar(value, false) });
    }
    if (added.length > 0) {
      if (flow || !isMap(node) || !node.range) return false;
      edits.push(insertPairs(source, node, added));
    }
    return true;
  }
  if (isScalar(node) && changed.has(node)) {
    const edit = replaceScalar(source, node, inFlow);
    if (!edit) return false;
    edits.push(edit);
  }
  return true;
}

/** The new text of a changed scalar in the span of the old: single-line unless it was a block scalar. */
function replaceScalar(source: string, node: Scalar, inFlow: boolean): Edit | undefined {
  const [start, end] = node.range!;
  const wasBlock = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  if (!wasBlock || inFlow) {
    // An empty value (`key:`) spans nothing, right after the colon: a value there needs a space before it.
    const gap = start === end && !/[ \t]/.test(source[start - 1] ?? " ") ? " " : "";
    return { start, end, text: gap + inlineScalar(node, inFlow) };
  }
  // A block scalar's span runs to the end of its last line; its content keeps the indentation it had.
  const firstContent = /\n( +)\S/.exec(source.slice(start, end));
  const indent = firstContent ? firstContent[1]!.length : columnOf(source, start) + 2;
  const copy = bare(node);
  copy.type = Scalar.BLOCK_LITERAL;
  const [header, ...content] = stringify(copy).replace(/\n$/, "").split("\n");
  // An indentation indicator (`|2`) counts from the parent's indentation, which differs here: not spliced.
  if (!/^[|>][-+]?$/.test(header!)) return undefined;
  // The serialiser indents the content its own way at the top level: re-indent it to the old block's depth.
  const own = Math.min(...content.filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)![0].length));
  const body = content.map((l) => (l.trim() === "" ? "" : " ".repeat(indent) + l.slice(own)));
  return { start, end, text: [header, ...body].join("\n") + "\n" };
}

/** A scalar on one line: the style it had (plain, quoted) when that can hold the value, else double quotes. */
function inlineScalar(node: Scalar, inFlow: boolean): string {
  const copy = bare(node);
  if (copy.type === Scalar.BLOCK_LITERAL || copy.type === Scalar.BLOCK_FOLDED) copy.type = undefined;
  const rendered = stringify(copy).replace(/\n$/, "");
  const value = String(node.value);
  // JSON's string syntax is YAML's double-quoted style: safe in flow collections and for any character.
  if (rendered.includes("\n") || (inFlow && /[,[\]{}#]|^\s|\s$/.test(rendered))) return JSON.stringify(value);
  return rendered;
}

/** New pairs, serialised by the Document API and indented like the mapping's first key, after its last line. */
function insertPairs(source: string, map: YAMLMap, pairs: Pair[]): Edit {
  const holder = new Document(new YAMLMap(), YAML_OPTIONS);
  (holder.contents as YAMLMap).items.push(...pairs);
  const indent = " ".repeat(columnOf(source, map.range![0]));
  const body = holder
    .toString({ lineWidth: 0 })
    .split("\n")
    .map((l) => (l === "" ? l : indent + l))
    .join("\n");
  // After the line the mapping ends on (its last value may end before that line's comment or newline).
  let at = map.range![2];
  if (at > 0 && source[at - 1] !== "\n") {
    const eol = source.indexOf("\n", at);
    at = eol === -1 ? source.length : eol + 1;
  }
  const needsBreak = at > 0 && source[at - 1] !== "\n";
  return { start: at, end: at, text: (needsBreak ? "\n" : "") + body };
}

/** The offset just past the `:` that ends a key at `keyEnd`, if it is on the same line. */
function afterColon(source: string, keyEnd: number): number | undefined {
  const m = /^[ \t]*:/.exec(source.slice(keyEnd));
  return m ? keyEnd + m[0].length : undefined;
}

function columnOf(source: string, offset: number): number {
  return offset - (source.lastIndexOf("\n", offset - 1) + 1);
}

/** The scalar alone: its comments stay in the text around the replaced span, its tag and anchor before it. */
function bare(node: Scalar): Scalar {
  const copy = new Scalar(node.value);
  copy.type = node.type;
  return copy;
}

function stringify(node: Scalar): string {
  const holder = new Document(null, YAML_OPTIONS);
  holder.contents = node as never;
  return holder.toString({ lineWidth: 0 });
}

/** The spliced text reads back to exactly the Document's secrets, name for name. */
function sameValues(text: string, doc: Document): boolean {
  const back = parseDocument(text, YAML_OPTIONS);
  if (back.errors.length > 0) return false;
  const paths = leafPaths(doc);
  const backPaths = leafPaths(back);
  if (paths.length !== backPaths.length || paths.some((p, i) => p !== backPaths[i])) return false;
  try {
    return paths.every((p) => secretAt(back, p, "") === secretAt(doc, p, ""));
  } catch {
    return false;
  }
}
