/**
 * How a `*_secret` name finds its value in a vault. Our own vaults are flat (`k3s_token: …`); Ansible users
 * nest (`ansible_vault: {token: …, bmc: {user: …}}`) and write `{{ ansible_vault.token }}`, so a name is a
 * dotted path: `ansible_vault.token`, `ansible_vault.bmc.user`, and a list item by its index (`ssh_keys.0`),
 * as Jinja reads `a.0`.
 *
 * A key may itself hold dots (`"a.b": x`, which a flat vault may have). The rule, at every mapping on the way:
 * the longest run of the remaining segments that is a key of that mapping is taken. So an exact key wins:
 * `a.b` names the top-level `"a.b"` even if `a: {b: …}` exists too; that nested value is then shadowed,
 * reachable by no name, and `leafPaths` does not list it.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { InputError } from "../errors.js";

/** One step of a walk: the collection entered and where in it (a mapping's pair or a list's index). */
export interface Step {
  container: YAMLMap | YAMLSeq;
  pair?: Pair;
  index?: number;
}

export interface Walk {
  /** The collections passed through, outermost first; the last step holds the node reached. */
  steps: Step[];
  /** Segments not matched: empty when the whole path was found. */
  rest: string[];
  /** The node reached (aliases resolved); null for an empty value (`key:`). */
  node: unknown;
  /** Some step went through an alias (`*name`): reading is fine, writing would change the anchor's other users. */
  viaAlias: boolean;
}

const INDEX = /^(0|[1-9]\d*)$/;

export function walkPath(doc: Document, path: string): Walk {
  const segments = path.split(".");
  const steps: Step[] = [];
  let viaAlias = isAlias(doc.contents);
  let node: unknown = resolveAlias(doc, doc.contents);
  let i = 0;
  while (i < segments.length) {
    let step: Step | undefined;
    let next = i;
    if (isMap(node)) {
      for (let j = segments.length; j > i && step === undefined; j--) {
        const key = segments.slice(i, j).join(".");
        const pair = node.items.find((p) => isScalar(p.key) && keyText(p.key) === key);
        if (pair) {
          step = { container: node, pair };
          next = j;
        }
      }
    } else if (isSeq(node) && INDEX.test(segments[i]!) && Number(segments[i]) < node.items.length) {
      step = { container: node, index: Number(segments[i]) };
      next = i + 1;
    }
    if (step === undefined) break;
    steps.push(step);
    const raw = step.pair ? step.pair.value : (step.container as YAMLSeq).items[step.index!];
    viaAlias ||= isAlias(raw);
    node = resolveAlias(doc, raw);
    i = next;
  }
  return { steps, rest: segments.slice(i), node, viaAlias };
}

/**
 * The secret a path names, as text; undefined when nothing is there. A path to a mapping or list is an
 * InputError naming it: the user wrote something there, only not a single value.
 */
export function secretAt(doc: Document, path: string, source: string): string | undefined {
  const walk = walkPath(doc, path);
  if (walk.rest.length > 0 || walk.steps.length === 0) return undefined;
  if (walk.node === null || walk.node === undefined) return "";
  if (isScalar(walk.node)) return scalarText(walk.node);
  throw notAValue(path, walk.node, source);
}

/** Every name `secretAt` answers with a value, in the file's order: each scalar leaf that no exact key shadows. */
export function leafPaths(doc: Document): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (node: unknown, prefix: string) => {
    node = resolveAlias(doc, node);
    // An alias may point back at its own ancestor: each collection is entered once.
    if (seen.has(node)) return;
    if (isMap(node)) {
      seen.add(node);
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const path = prefix + keyText(pair.key);
        visitEntry(pair.value, path, { container: node, pair });
      }
      seen.delete(node);
    } else if (isSeq(node)) {
      seen.add(node);
      node.items.forEach((item, index) =>
        visitEntry(item, prefix + String(index), { container: node, index }),
      );
      seen.delete(node);
    }
  };
  const visitEntry = (value: unknown, path: string, at: Step) => {
    const target = resolveAlias(doc, value);
    if (isMap(target) || isSeq(target)) return visit(target, path + ".");
    const last = walkPath(doc, path).steps.at(-1);
    if (last && last.container === at.container && last.pair === at.pair && last.index === at.index)
      found.push(path);
  };
  visit(doc.contents, "");
  return found;
}

function notAValue(path: string, node: unknown, source: string): InputError {
  if (isMap(node)) {
    const keys = node.items.filter((p) => isScalar(p.key)).map((p) => keyText(p.key as Scalar));
    const example = keys[0] !== undefined ? `, e.g. \`${path}.${keys[0]}\`` : "";
    return new InputError(
      `${source}: vault key \`${path}\` is a mapping (keys: ${keys.join(", ") || "none"}), not a single value`,
      `name one of its values${example}`,
    );
  }
  if (isSeq(node)) {
    return new InputError(
      `${source}: vault key \`${path}\` is a list of ${node.items.length} item(s), not a single value`,
      `name one item by its index, e.g. \`${path}.0\`, or make the value one string`,
    );
  }
  return new InputError(`${source}: vault key \`${path}\` is not a single value`, "make it one string");
}

/**
 * The value as the user wrote it: `0123` stays "0123" and `yes` stays "yes", where a YAML loader would make
 * them 83 and true. Secrets are text, so an empty value (or `~`) is "".
 */
export function scalarText(node: Scalar): string {
  if (node.value === null || node.value === undefined) return "";
  if (typeof node.value === "string") return node.value;
  return node.source ?? String(node.value);
}

/** A key matched by its text, so `yes` or `123` is found although YAML reads it as true or 123. */
export function keyText(node: Scalar): string {
  return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
}

export function describeNode(node: unknown): string {
  if (isAlias(node)) return "YAML alias";
  if (isMap(node)) return "mapping";
  if (isSeq(node)) return "list";
  return "single value";
}

function resolveAlias(doc: Document, node: unknown): unknown {
  // A chain of aliases is at most as long as the document has anchors; the bound only guards a broken one.
  for (let hops = 0; isAlias(node) && hops < 100; hops++) node = node.resolve(doc) as Node | undefined;
  return isAlias(node) ? undefined : node;
}
