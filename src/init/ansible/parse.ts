/**
 * Read an Ansible YAML inventory into hosts with their effective variables, following Ansible's own
 * precedence (the `all` group, then parent groups before child groups, then host variables), and keep
 * where each value was defined so the import report can say "`k3s_version` (group k3s_cluster)".
 *
 * `!vault` values and Jinja expressions are kept as markers, never as text to copy: powerstack does not
 * decrypt inline vault values or evaluate templates, it asks for those values instead.
 */
import { LineCounter, parseDocument, type ScalarTag } from "yaml";
import { InputError } from "../../errors.js";
import { readInputFile } from "../../input-file.js";

/** A value written as `!vault | $ANSIBLE_VAULT;...`: encrypted, so it must be entered again. */
export class VaultTagged {
  constructor(readonly ciphertext: string) {}
}

/** A value written as `!unsafe '...'`: Ansible does not template it, so neither braces nor percent signs mean Jinja. */
export class UnsafeText {
  constructor(readonly text: string) {}
}

const tags: ScalarTag[] = [
  { tag: "!vault", resolve: (s) => new VaultTagged(s), identify: (v) => v instanceof VaultTagged },
  { tag: "!unsafe", resolve: (s) => new UnsafeText(s), identify: (v) => v instanceof UnsafeText },
];

export interface VarDef {
  name: string;
  value: unknown;
  /** `host node1`, `group k3s_cluster`. */
  where: string;
}

export interface AnsibleHost {
  /** The inventory alias (the key under `hosts:`). */
  alias: string;
  /** Every group the host is in, its ancestors included. */
  groups: Set<string>;
  /** Effective variables after Ansible's precedence. */
  vars: Map<string, VarDef>;
}

export interface ParsedAnsibleInventory {
  file: string;
  hosts: AnsibleHost[];
  groups: string[];
  /**
   * Every variable as written, once per place it is defined (also those overridden for every host), so
   * the report can account for each one.
   */
  definitions: VarDef[];
  /** Structural oddities (unknown keys in a group, host patterns expanded), for the report. */
  notes: string[];
}

export function isJinja(value: unknown): value is string {
  return typeof value === "string" && /\{\{|\{%/.test(value);
}

export function readAnsibleInventory(path: string): ParsedAnsibleInventory {
  return parseAnsibleInventory(
    readInputFile(path, "Ansible inventory", "check the path given to --from-ansible").text,
    path,
  );
}

export function parseAnsibleInventory(text: string, file: string): ParsedAnsibleInventory {
  if (text.startsWith("$ANSIBLE_VAULT;")) {
    throw new InputError(
      `${file} is encrypted with ansible-vault`,
      `decrypt a copy first: ansible-vault decrypt --output plain.yml ${file}`,
    );
  }
  const ini = /^\s*\[[^\]]+\]\s*$/m.test(text) && !/^\s*[\w.-]+\s*:/m.test(text);
  if (ini) throw notYaml(file, "it looks like an INI inventory");

  const lines = new LineCounter();
  const doc = parseDocument(text, { customTags: tags, lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lines.linePos(e.pos[0]);
    throw new InputError(
      `${file}:${line}:${col}: ${e.message.split("\n")[0]}`,
      "fix the YAML syntax (or convert the inventory: ansible-inventory -i <inventory> --list --yaml)",
    );
  }
  const root = doc.toJS() as unknown;
  if (!isMapping(root)) throw notYaml(file, "its top level is not a mapping of groups");

  const builder = new Builder();
  // Top-level keys are groups, all children of `all` (which may itself be written out).
  for (const [name, body] of Object.entries(root)) builder.group(name, body, name === "all" ? [] : ["all"]);
  return builder.finish(file);
}

function notYaml(file: string, why: string): InputError {
  return new InputError(
    `${file} is not a YAML Ansible inventory (${why})`,
    `convert it first: ansible-inventory -i ${file} --list --yaml > inventory.yml, then pass --from-ansible inventory.yml`,
  );
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    !(v instanceof VaultTagged) &&
    !(v instanceof UnsafeText)
  );
}

interface Membership {
  group: string;
  /** Groups from `all` down to `group` (exclusive). */
  ancestors: string[];
}

class Builder {
  private readonly groupVars = new Map<string, Record<string, unknown>>();
  /** Depth of each group below `all`; a group reached by several paths takes its deepest (Ansible sorts by depth). */
  private readonly depth = new Map<string, number>();
  private readonly hostVars = new Map<string, Record<string, unknown>>();
  private readonly memberships = new Map<string, Membership[]>();
  private readonly order: string[] = [];
  private readonly notes: string[] = [];

  group(name: string, body: unknown, ancestors: string[]): void {
    this.depth.set(name, Math.max(this.depth.get(name) ?? 0, ancestors.length));
    if (body === null || body === undefined) return;
    if (!isMapping(body)) {
      this.notes.push(`group \`${name}\` is not a mapping (hosts:/vars:/children:); skipped`);
      return;
    }
    for (const [key, value] of Object.entries(body)) {
      if (key === "vars") {
        if (isMapping(value)) this.groupVars.set(name, { ...this.groupVars.get(name), ...value });
        else if (value != null) this.notes.push(`\`vars\` of group \`${name}\` is not a mapping; skipped`);
      } else if (key === "hosts") {
        if (isMapping(value))
          for (const [alias, vars] of Object.entries(value)) this.host(alias, vars, name, ancestors);
        else if (value != null) this.notes.push(`\`hosts\` of group \`${name}\` is not a mapping; skipped`);
      } else if (key === "children") {
        if (isMapping(value))
          for (const [child, sub] of Object.entries(value)) this.group(child, sub, [...ancestors, name]);
        else if (value != null)
          this.notes.push(`\`children\` of group \`${name}\` is not a mapping; skipped`);
      } else {
        this.notes.push(
          `group \`${name}\` has an unexpected key \`${key}\` (a group holds hosts:, vars: and children:); skipped`,
        );
      }
    }
  }

  private host(pattern: string, vars: unknown, group: string, ancestors: string[]): void {
    const aliases = expandHostPattern(pattern);
    if (aliases.length > 1) this.notes.push(`host pattern \`${pattern}\` expanded to ${aliases.join(", ")}`);
    for (const alias of aliases) {
      if (!this.memberships.has(alias)) {
        this.memberships.set(alias, []);
        this.order.push(alias);
      }
      this.memberships.get(alias)!.push({ group, ancestors });
      if (isMapping(vars)) this.hostVars.set(alias, { ...this.hostVars.get(alias), ...vars });
      else if (vars != null)
        this.notes.push(
          `host \`${alias}\` in group \`${group}\` has a value that is not a mapping of variables; ignored`,
        );
    }
  }

  finish(file: string): ParsedAnsibleInventory {
    const hosts = this.order.map((alias): AnsibleHost => {
      const groups = new Set<string>(["all"]);
      for (const m of this.memberships.get(alias)!) {
        m.ancestors.forEach((g) => groups.add(g));
        groups.add(m.group);
      }
      // Ansible: `all` first, then groups by depth (parents before children), then by name; host vars last.
      const ordered = [...groups].sort(
        (a, b) =>
          (this.depth.get(a) ?? 0) - (this.depth.get(b) ?? 0) ||
          (a === "all" ? -1 : b === "all" ? 1 : a.localeCompare(b)),
      );
      const vars = new Map<string, VarDef>();
      for (const g of ordered) {
        for (const [name, value] of Object.entries(this.groupVars.get(g) ?? {}))
          vars.set(name, { name, value, where: `group ${g}` });
      }
      for (const [name, value] of Object.entries(this.hostVars.get(alias) ?? {}))
        vars.set(name, { name, value, where: `host ${alias}` });
      return { alias, groups, vars };
    });
    const definitions: VarDef[] = [
      ...[...this.groupVars].flatMap(([g, vars]) =>
        Object.entries(vars).map(([name, value]) => ({ name, value, where: `group ${g}` })),
      ),
      ...[...this.hostVars].flatMap(([h, vars]) =>
        Object.entries(vars).map(([name, value]) => ({ name, value, where: `host ${h}` })),
      ),
    ];
    return { file, hosts, groups: [...this.depth.keys()], definitions, notes: this.notes };
  }
}

/** Ansible's numeric host ranges: `node[01:03]` is node01, node02, node03. */
export function expandHostPattern(pattern: string): string[] {
  const m = /^(.*)\[(\d+):(\d+)\](.*)$/.exec(pattern);
  if (!m) return [pattern];
  const [, head, from, to, tail] = m as unknown as [string, string, string, string, string];
  const width = from.startsWith("0") ? from.length : 0;
  const out: string[] = [];
  // The regex takes the last range; earlier ones are left in `head` and expanded by the recursion.
  for (const start of expandHostPattern(head)) {
    for (let n = Number(from); n <= Number(to); n++)
      out.push(`${start}${String(n).padStart(width, "0")}${tail}`);
  }
  return out;
}
