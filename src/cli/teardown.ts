/**
 * `powerstack teardown`: the plays of playbooks/teardown.yaml (up's, reversed). Before anything changes it
 * lists what it will remove and asks once, unless --yes; with no terminal to ask on and no --yes it
 * refuses (exit 2) before it reads the vault or contacts a node. --check plans only and never asks.
 * The data filesystem stays unless --purge-data: only then does the teardown-purge-data role run.
 */
import { join } from "node:path";
import type { ParsedCommand } from "./argv.js";
import { ExitCode, InputError } from "../errors.js";
import {
  checkOnlySkip,
  filterRoles,
  limitHosts,
  loadPlaybook,
  selectHosts,
  splitList,
  type PlayDef,
} from "../engine/playbook.js";
import type { Role, RoleContext } from "../engine/role.js";
import { loadRole } from "../engine/role-registry.js";
import { closest } from "../closest.js";
import type { Inventory } from "../inventory/types.js";
import { packageRoot } from "../package-root.js";
import { openRun } from "./context.js";
import { confirmOnTerminal } from "../ui/confirm.js";
import type { GlobalOptions } from "./options.js";
import { runPlaybook, type PlaybookOptions } from "./run-playbook.js";

/** What the teardown command asks of its roles: a line per thing removed on a node, for the confirmation. */
export interface TeardownListing {
  removes(ctx: Pick<RoleContext, "inventory" | "node" | "control">): string[];
}

export const PURGE_ROLE = "teardown-purge-data";
/** The role that unmounts the data filesystem: the wipe can only follow it. */
const STORAGE_ROLE = "teardown-storage";

export interface TeardownFlags {
  purgeData?: boolean;
  only?: string;
  skip?: string;
  playbook?: string;
}

/**
 * --only/--skip against the playbook's roles (`storage` is accepted for `teardown-storage`), with the
 * purge role kept out unless --purge-data, and brought in with teardown-storage when it is.
 */
export function selectRoles(plays: PlayDef[], flags: TeardownFlags, file: string): PlaybookOptions {
  const known = [...new Set(plays.flatMap((p) => p.roles))];
  const resolve = (name: string) => {
    if (known.includes(name)) return name;
    if (known.includes(`teardown-${name}`)) return `teardown-${name}`;
    const short = (r: string) => r.replace(/^teardown-/, "");
    const near = known.find((r) => short(r) === closest(short(name), known.map(short)));
    throw new InputError(
      `unknown teardown role \`${name}\` in --only/--skip`,
      near
        ? `did you mean \`${near}\`? (roles of ${file}: ${known.join(", ")})`
        : `roles of ${file}: ${known.join(", ")}`,
    );
  };
  const only = splitList(flags.only)?.map(resolve);
  const skip = (splitList(flags.skip) ?? []).map(resolve);
  checkOnlySkip(only, skip);
  // Without --purge-data the wipe never runs, even where --only names it.
  if (!flags.purgeData) {
    const kept = only?.filter((r) => r !== PURGE_ROLE);
    if (only && kept!.length === 0)
      throw new InputError(
        `--only ${PURGE_ROLE} without --purge-data would run nothing: the data filesystem is wiped only with --purge-data`,
        `add --purge-data (and ${STORAGE_ROLE}, which unmounts it first)`,
      );
    return { only: kept, skip: [...skip, PURGE_ROLE], file };
  }
  if (skip.includes(PURGE_ROLE) || skip.includes(STORAGE_ROLE))
    throw new InputError(
      `--purge-data with --skip ${skip.includes(PURGE_ROLE) ? PURGE_ROLE : STORAGE_ROLE}: the data filesystem can only be wiped after ${STORAGE_ROLE} unmounts it`,
      "drop one of the two",
    );
  if (only?.includes(STORAGE_ROLE) && !only.includes(PURGE_ROLE)) only.push(PURGE_ROLE);
  if (only && !only.includes(PURGE_ROLE))
    throw new InputError(
      `--purge-data has no effect with --only ${only.join(",")}`,
      `add ${STORAGE_ROLE} to --only (it unmounts the data filesystem, then it is wiped)`,
    );
  return { only, skip, file };
}

function isListing(role: Role): role is Role & TeardownListing {
  return typeof (role as Partial<TeardownListing>).removes === "function";
}

/** The confirmation list: per role in run order, what it removes and on which nodes. */
export async function describeTeardown(
  inv: Inventory,
  plays: PlayDef[],
  limit?: Set<string>,
): Promise<string[]> {
  const control = inv.nodes.find((n) => n.role === "control")!;
  const rows: Array<[string, string]> = [];
  for (const play of plays) {
    const hosts = selectHosts(inv, play.hosts).filter((h) => !limit || limit.has(h));
    if (hosts.length === 0) continue;
    for (const name of play.roles) {
      const role = await loadRole(name);
      const onHosts = new Map<string, string[]>();
      for (const host of hosts) {
        const node = inv.nodes.find((n) => n.name === host)!;
        const texts = isListing(role) ? role.removes({ inventory: inv, node, control }) : [role.description];
        for (const t of texts) onHosts.set(t, [...(onHosts.get(t) ?? []), host]);
      }
      for (const [text, on] of onHosts) rows.push([on.join(", "), text]);
    }
  }
  const width = Math.max(0, ...rows.map(([h]) => h.length));
  return rows.map(([h, text]) => `${h.padEnd(width)}  ${text}`);
}

async function confirmTeardown(lines: string[]): Promise<boolean> {
  const message = [
    "powerstack teardown will remove, in this order, whatever of this is present:",
    ...lines.map((l) => `    ${l}`),
    "  Go ahead?",
  ].join("\n");
  return confirmOnTerminal(message);
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const flags = cmd.opts<TeardownFlags>();
  const ask = !opts.check && !opts.yes;
  if (ask && !process.stdin.isTTY) {
    throw new InputError(
      `teardown asks before it removes anything (Helm releases, K3s, NFS mounts and export, the data mount${flags.purgeData ? ", and it WIPES the data filesystem" : ""}), and there is no terminal to ask on`,
      "pass --yes to confirm in advance (`powerstack teardown --check` shows what it would remove)",
    );
  }
  // The roles are chosen (and a contradiction refused) before the inventory and vault are opened.
  const file = flags.playbook ?? join(packageRoot(), "playbooks", "teardown.yaml");
  const plays = loadPlaybook(file);
  const po = selectRoles(plays, flags, file);
  const ctx = await openRun("teardown", opts);
  try {
    if (ask) {
      const limit = limitHosts(ctx.inventory, opts.limit);
      const lines = await describeTeardown(ctx.inventory, filterRoles(plays, po.only, po.skip), limit);
      const yes = await confirmTeardown(lines.map((l) => ctx.redactor.redact(l)));
      ctx.log.write("confirm", { answer: yes, listed: lines });
      if (!yes) {
        ctx.out.error("teardown cancelled: nothing was changed");
        return ExitCode.failed;
      }
    }
    return await runPlaybook(ctx, "teardown", po);
  } finally {
    ctx.close();
  }
}
