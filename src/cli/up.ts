import { loadPlaybook, packagePlaybook, roleFlags, selectRun } from "../engine/playbook.js";
import type { ParsedCommand } from "./argv.js";
import { openRun } from "./context.js";
import type { GlobalOptions } from "./options.js";
import { runPlaybook } from "./run-playbook.js";

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const local = cmd.opts<{ only?: string; skip?: string; allowFormat?: string; playbook?: string }>();
  // A contradiction is refused before the inventory and vault are opened.
  const roles = roleFlags(local);
  const ctx = await openRun("up", opts);
  try {
    const plays = loadPlaybook(local.playbook ?? packagePlaybook("up"));
    const selection = selectRun(ctx.inventory, plays, { ...roles, limit: opts.limit });
    return await runPlaybook(ctx, selection, { allowFormat: local.allowFormat });
  } finally {
    ctx.close();
  }
}
