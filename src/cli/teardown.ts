/**
 * `powerstack teardown`: the plays of playbooks/teardown.yaml (up's, reversed). Before anything changes it
 * runs the same plays in check mode (facts read, actions planned, nothing applied), lists the planned
 * changes per role and node, and asks once, unless --yes; then it runs them for real. With no terminal to
 * ask on and no --yes it refuses (exit 2) before it reads the vault or contacts a node. --check plans only
 * and never asks.
 * The data filesystem stays unless --purge-data: only then does the teardown-purge-data role run.
 */
import type { ParsedCommand } from "./argv.js";
import { ExitCode, InputError } from "../errors.js";
import {
  loadPlaybook,
  packagePlaybook,
  roleFlags,
  selectRun,
  type PlayDef,
  type RoleSelection,
  type RunSelection,
} from "../engine/playbook.js";
import { runPlays, type RunScope } from "../engine/run-plays.js";
import { Runner } from "../engine/runner.js";
import { confirmationList, incompletePlan } from "../engine/teardown-listing.js";
import type { TaskResult } from "../engine/types.js";
import { closest } from "../closest.js";
import type { Inventory } from "../inventory/types.js";
import { nodeConnector } from "../transport/connect-node.js";
import type { Host } from "../transport/host.js";
import { openRun, type RunContext } from "./context.js";
import { confirmOnTerminal } from "../ui/confirm.js";
import type { GlobalOptions } from "./options.js";
import { runPlaybook } from "./run-playbook.js";

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
export function selectRoles(plays: PlayDef[], flags: TeardownFlags, file: string): RoleSelection {
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
  const { only, skip = [] } = roleFlags(flags, resolve);
  // Without --purge-data the wipe never runs, even where --only names it.
  if (!flags.purgeData) {
    const kept = only?.filter((r) => r !== PURGE_ROLE);
    if (only && kept!.length === 0)
      throw new InputError(
        `--only ${PURGE_ROLE} without --purge-data would run nothing: the data filesystem is wiped only with --purge-data`,
        `add --purge-data (and ${STORAGE_ROLE}, which unmounts it first)`,
      );
    return { only: kept, skip: [...skip, PURGE_ROLE] };
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
  return { only, skip };
}

/** How the check run reaches the nodes and the vault (the CLI's; a test's stand-ins). */
export interface PlanOptions {
  connect(host: string): Promise<Host>;
  scope: RunScope;
  forks: number;
}

/**
 * The selected plays in check mode, nothing applied: the results the confirmation list is made from
 * (engine/teardown-listing.ts). Its connections are closed before it returns; the real run opens its own,
 * so what it removes is decided on the nodes' state after the answer, not before.
 */
export async function planTeardown(
  inventory: Inventory,
  { plays, limit }: RunSelection,
  o: PlanOptions,
): Promise<TaskResult[]> {
  const runner = new Runner({
    check: true,
    forks: o.forks,
    connect: o.connect,
    // Shown as one list once it is complete; the run log gets the list with the answer.
    reporter: { playStart() {}, taskResult() {}, playEnd() {} },
  });
  try {
    await runPlays(runner, plays, inventory, o.scope, limit);
  } finally {
    await runner.close();
  }
  return runner.results;
}

/** planTeardown as the CLI runs it: over SSH, with the run's vault (read-only: check mode stores nothing). */
function planOnNodes(ctx: RunContext, selection: RunSelection): Promise<TaskResult[]> {
  const connect = nodeConnector(ctx.inventory, ctx.secret);
  return planTeardown(ctx.inventory, selection, {
    connect: (host) => connect(ctx.inventory.nodes.find((n) => n.name === host)!),
    forks: ctx.opts.forks,
    scope: {
      secret: ctx.secret,
      hasSecret: (k) => ctx.vault?.has(k) ?? false,
      storeSecret: async (_k, v) => {
        ctx.redactor.add(v);
      },
    },
  });
}

async function confirmTeardown(lines: string[]): Promise<boolean> {
  const message = [
    "powerstack teardown will make these changes, in this order (planned just now on the nodes, in check mode):",
    ...lines.map((l) => `    ${l}`),
    "  Go ahead?",
  ].join("\n");
  return confirmOnTerminal(message);
}

/** The check run could not see everything it would remove: say where and why, change nothing. */
function refuseIncomplete(ctx: RunContext, problems: TaskResult[]): number {
  ctx.out.error(
    [
      "teardown did not ask: what it would remove could not be planned on every node (nothing was changed):",
      ...problems.map((r) => `    ${r.host}: ${r.task}: ${r.msg ?? r.status}`),
      "  fix: make the node(s) reachable and fix the error above, or leave them out with --limit",
    ].join("\n"),
  );
  return problems.some((r) => r.status === "unreachable") ? ExitCode.unreachable : ExitCode.failed;
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
  const file = flags.playbook ?? packagePlaybook("teardown");
  const plays = loadPlaybook(file);
  const roles = selectRoles(plays, flags, file);
  const ctx = await openRun("teardown", opts);
  try {
    // What the check run plans and lists is what runs: one selection for both.
    const selection = selectRun(ctx.inventory, plays, { ...roles, limit: opts.limit });
    if (ask) {
      ctx.out.error("teardown: planning on the nodes (check mode, nothing changes yet)...");
      const planned = await planOnNodes(ctx, selection);
      const problems = incompletePlan(planned);
      if (problems.length > 0) {
        ctx.log.write("confirm", { asked: false, incomplete: problems.map((r) => `${r.host}: ${r.task}`) });
        return refuseIncomplete(ctx, problems);
      }
      const lines = confirmationList(
        planned,
        ctx.inventory.nodes.map((n) => n.name),
      );
      if (lines.length === 0) {
        ctx.log.write("confirm", { asked: false, listed: [] });
        ctx.out.info("teardown: nothing to remove on the selected nodes: nothing was changed");
        return ExitCode.ok;
      }
      const yes = await confirmTeardown(lines.map((l) => ctx.redactor.redact(l)));
      ctx.log.write("confirm", { answer: yes, listed: lines });
      if (!yes) {
        ctx.out.error("teardown cancelled: nothing was changed");
        return ExitCode.failed;
      }
    }
    return await runPlaybook(ctx, selection);
  } finally {
    ctx.close();
  }
}
