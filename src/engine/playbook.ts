/**
 * Plays as data: `playbooks/<name>.yaml` lists, in order, which roles run on which hosts. Users may
 * reorder or trim plays; the roles themselves are TypeScript (roles/<name>/index.ts).
 */
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { InputError } from "../errors.js";
import { InventoryError } from "../inventory/load.js";
import { closest } from "../closest.js";
import { SourceMap, walk, type Field } from "../inventory/schema-walker.js";
import type { Inventory } from "../inventory/types.js";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { packageRoot } from "../package-root.js";
import { isRolePath, ROLE_NAMES } from "./role-registry.js";

export interface PlayDef {
  name: string;
  /** `all`, `control`, `workers`, or node names. */
  hosts: string[];
  roles: string[];
  anyErrorsFatal: boolean;
  /** `connection: local`: the roles act from the operator's machine (BMCs), not over SSH. */
  local: boolean;
}

const playSchema: Field = {
  kind: "list",
  required: true,
  of: {
    kind: "object",
    fields: {
      name: { kind: "string", required: true },
      hosts: { kind: "string", required: true },
      roles: { kind: "strings", required: true },
      any_errors_fatal: { kind: "bool", default: false },
      connection: { kind: "string", default: "ssh", oneOf: ["ssh", "local"] },
    },
  },
};

export function loadPlaybook(file: string): PlayDef[] {
  const text = readFileSync(file, "utf8");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const src = new SourceMap(file, doc, lines);
  const raw = walk(playSchema, doc.toJS(), [], src) as Array<{
    name: string;
    hosts: string;
    roles: string[];
    any_errors_fatal: boolean;
    connection: string;
  }>;
  raw?.forEach((p, i) =>
    p?.roles?.forEach((r, j) => {
      if (isRolePath(r)) {
        if (!existsSync(resolve(dirname(file), r)))
          src.report(
            [i, "roles", j],
            `role file ${resolve(dirname(file), r)} does not exist`,
            "give the path of a compiled role module, relative to the playbook",
          );
      } else if (!ROLE_NAMES.includes(r)) {
        const near = closest(r, ROLE_NAMES);
        src.report(
          [i, "roles", j],
          `unknown role \`${r}\``,
          near ? `did you mean \`${near}\`?` : `roles: ${ROLE_NAMES.join(", ")}`,
        );
      }
    }),
  );
  if (src.count > 0) throw new InventoryError(src.problems, src.unlisted);
  return raw.map((p) => ({
    name: p.name,
    hosts: p.hosts.split(",").map((h) => h.trim()),
    roles: p.roles.map((r) => (isRolePath(r) ? resolve(dirname(file), r) : r)),
    anyErrorsFatal: p.any_errors_fatal,
    local: p.connection === "local",
  }));
}

/** Node names a host pattern list selects, in inventory order. */
export function selectHosts(inv: Inventory, patterns: string[]): string[] {
  const wanted = new Set<string>();
  for (const pat of patterns) {
    const matches =
      pat === "all"
        ? inv.nodes
        : pat === "control"
          ? inv.nodes.filter((n) => n.role === "control")
          : pat === "workers"
            ? inv.nodes.filter((n) => n.role === "worker")
            : inv.nodes.filter((n) => n.name === pat);
    if (matches.length === 0 && !["control", "workers"].includes(pat)) {
      const near = closest(
        pat,
        inv.nodes.map((n) => n.name),
      );
      throw new InputError(
        `no node or group named \`${pat}\``,
        near
          ? `did you mean \`${near}\`?`
          : `nodes: ${inv.nodes.map((n) => n.name).join(", ")}; groups: all, control, workers`,
      );
    }
    for (const n of matches) wanted.add(n.name);
  }
  return inv.nodes.map((n) => n.name).filter((n) => wanted.has(n));
}

export function splitList(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/**
 * `--limit` as the set of node names it selects; undefined without --limit. A limit that names nothing
 * (`""`, `,`) is a usage error here too, whoever calls: never "no limit" (every node), never an empty
 * run that exits 0. (The command line refuses it first, in commands.ts.)
 */
export function limitHosts(inv: Inventory, limit: string | undefined): Set<string> | undefined {
  if (limit === undefined) return undefined;
  const patterns = splitList(limit)!;
  if (patterns.length === 0)
    throw new InputError(
      `--limit ${JSON.stringify(limit)} names no node or group: an empty --limit is refused, not taken as every node`,
      "name nodes or groups (all, control, workers), e.g. --limit ctl,workers; to run on every node, leave --limit out",
    );
  return new Set(selectHosts(inv, patterns));
}

/**
 * `--only X --skip X` contradicts itself: X would be skipped, and the run would look like it did what
 * was asked (a silent no-op when X is the only role named). A usage error naming the role(s).
 */
export function checkOnlySkip(only?: readonly string[], skip?: readonly string[]): void {
  const both = [...new Set((only ?? []).filter((r) => skip?.includes(r)))];
  if (both.length === 0) return;
  throw new InputError(
    `--only and --skip both name ${both.map((r) => `\`${r}\``).join(", ")}: ${both.length === 1 ? "the role" : "those roles"} would be skipped`,
    "name each role in only one of the two",
  );
}

/** The roles a run keeps (`--only`, undefined: all) and drops (`--skip`). */
export interface RoleSelection {
  only?: string[];
  skip?: string[];
}

/**
 * `--only` and `--skip` as role lists, each name passed through `resolve` (teardown's `storage` is
 * teardown-storage, and an unknown name is refused there); a role named by both is refused.
 */
export function roleFlags(
  flags: { only?: string; skip?: string },
  resolve: (name: string) => string = (name) => name,
): RoleSelection {
  const only = splitList(flags.only)?.map(resolve);
  const skip = splitList(flags.skip)?.map(resolve);
  checkOnlySkip(only, skip);
  return { only, skip };
}

/** Apply `--only` / `--skip` to a playbook; plays left without roles are dropped. */
export function filterRoles(plays: PlayDef[], only?: string[], skip?: string[]): PlayDef[] {
  const known = [...ROLE_NAMES, ...plays.flatMap((p) => p.roles)];
  for (const r of [...(only ?? []), ...(skip ?? [])]) {
    if (!known.includes(r)) {
      const near = closest(r, ROLE_NAMES);
      throw new InputError(
        `unknown role \`${r}\` in --only/--skip`,
        near ? `did you mean \`${near}\`?` : `roles: ${ROLE_NAMES.join(", ")}`,
      );
    }
  }
  checkOnlySkip(only, skip);
  return plays
    .map((p) => ({ ...p, roles: p.roles.filter((r) => (!only || only.includes(r)) && !skip?.includes(r)) }))
    .filter((p) => p.roles.length > 0);
}

/** What one run covers: the playbook's plays after --only/--skip, and --limit as node names. */
export interface RunSelection {
  plays: PlayDef[];
  /** Undefined without --limit: every node a play names. */
  limit?: ReadonlySet<string>;
}

/**
 * The one resolution of --only, --skip and --limit for a run: what `up` and `teardown` run, and what
 * teardown's confirmation lists, are the same selection.
 */
export function selectRun(
  inventory: Inventory,
  plays: PlayDef[],
  flags: RoleSelection & { limit?: string },
): RunSelection {
  return { plays: filterRoles(plays, flags.only, flags.skip), limit: limitHosts(inventory, flags.limit) };
}

/** A play's hosts in this run: its host patterns, in inventory order, within --limit. */
export function playHosts(
  inventory: Inventory,
  play: Pick<PlayDef, "hosts">,
  limit?: ReadonlySet<string>,
): string[] {
  return selectHosts(inventory, play.hosts).filter((h) => !limit || limit.has(h));
}

/** The package's own playbook of a command (`up`, `teardown`): playbooks/<name>.yaml. */
export const packagePlaybook = (name: string): string => join(packageRoot(), "playbooks", `${name}.yaml`);
