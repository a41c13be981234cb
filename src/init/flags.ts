/**
 * Answers given on the command line: `--set <key.path>=<value>` for any inventory key and
 * `--node name=...,role=...,internal_ip=...` for a whole node. Each value is checked against the schema at
 * once, so a typo fails before any question is asked, naming the flag.
 */
import { InputError } from "../errors.js";
import { checkAnswer, describeField, fieldAt, parsePath } from "../inventory/field-check.js";
import { inventorySchema } from "../inventory/schema.js";
import { closest } from "../closest.js";
import { formatPath, type Field, type Path } from "../inventory/schema-walker.js";
import { nodes, setIn, type Draft, type Raw } from "./draft.js";

export function applySets(draft: Draft, assignments: string[]): void {
  for (const a of assignments) {
    const eq = a.indexOf("=");
    if (eq <= 0)
      throw new InputError(
        `--set ${a}: expected <key>=<value>`,
        "e.g. --set cluster.nfs_network=10.0.0.0/24",
      );
    const key = a.slice(0, eq).trim();
    if (key === "vault_file") {
      throw new InputError(
        `--set ${a}: the vault's path is chosen with --vault`,
        `pass --vault <file> instead`,
      );
    }
    const path = keyPath(key, `--set ${a}`);
    if (path[0] === "nodes" && typeof path[1] === "number" && path[1] > nodes(draft).length) {
      throw new InputError(
        `--set ${a}: there is no nodes[${path[1] - 1}] yet`,
        "number nodes from 0 without gaps, or use --node",
      );
    }
    setIn(draft.doc, path, value(path, a.slice(eq + 1), `--set ${a}`));
  }
}

/** `--node name=n1,role=control,internal_ip=10.0.0.11,bmc.address=https://10.0.1.11`: a new node, or more keys for an imported one of that name. */
export function applyNodes(draft: Draft, specs: string[]): void {
  const list = nodes(draft);
  for (const spec of specs) {
    const pairs = spec.split(",").map((kv) => {
      const eq = kv.indexOf("=");
      if (eq <= 0)
        throw new InputError(
          `--node ${spec}: \`${kv}\` is not <key>=<value>`,
          "e.g. --node name=node1,role=control,internal_ip=10.0.0.11,storage_disk=/dev/sdb",
        );
      return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()] as const;
    });
    const name = pairs.find(([k]) => k === "name")?.[1];
    let index = name === undefined ? -1 : list.findIndex((n) => n.name === name);
    if (index < 0) {
      index = list.length;
      list.push({});
    }
    const node = list[index] as Raw;
    for (const [k, v] of pairs) {
      const sub = keyPath(k, `--node ${spec}`, ["nodes", index]);
      setIn(node, sub.slice(2), value(sub, v, `--node ${spec}`));
    }
  }
}

function keyPath(key: string, flag: string, prefix: Path = []): Path {
  let path: Path;
  try {
    path = [...prefix, ...parsePath(key)];
  } catch {
    throw new InputError(
      `${flag}: \`${key}\` is not a key path`,
      "write keys like cluster.node_ports.grafana or nodes[0].internal_ip",
    );
  }
  const field = fieldAt(path);
  if (!field || field.kind === "object" || field.kind === "list") {
    const parent = fieldAt(path.slice(0, -1)) ?? inventorySchema;
    const keys = parent.kind === "object" ? Object.keys(parent.fields) : [];
    const near = closest(String(path[path.length - 1]), keys);
    throw new InputError(
      `${flag}: \`${formatPath(path.slice(prefix.length))}\` is not a setting of the inventory`,
      near
        ? `did you mean \`${formatPath([...path.slice(prefix.length, -1), near])}\`?`
        : `keys here: ${keys.join(", ") || "(none: name a single setting)"}`,
    );
  }
  return path;
}

/** Turn the flag's text into the key's type (bool, list of strings), then check it like an answer. */
function value(path: Path, text: string, flag: string): unknown {
  const field = fieldAt(path) as Field;
  let v: unknown = text;
  if (field.kind === "bool")
    v = /^(true|yes)$/i.test(text) ? true : /^(false|no)$/i.test(text) ? false : text;
  if (field.kind === "strings") v = text === "" ? [] : text.split(/[\s,]+/).filter(Boolean);
  const r = checkAnswer(path, v);
  if (!r.ok)
    throw new InputError(`${flag}: ${r.message}`, `${formatPath(path)} takes ${describeField(path)}`);
  return r.value;
}
