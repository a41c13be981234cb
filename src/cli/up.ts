import { checkOnlySkip, splitList } from "../engine/playbook.js";
import type { ParsedCommand } from "./argv.js";
import { openRun } from "./context.js";
import type { GlobalOptions } from "./options.js";
import { runPlaybook } from "./run-playbook.js";

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const local = cmd.opts<{ only?: string; skip?: string; allowFormat?: string; playbook?: string }>();
  const only = splitList(local.only);
  const skip = splitList(local.skip);
  // A contradiction is refused before the inventory and vault are opened.
  checkOnlySkip(only, skip);
  const ctx = await openRun("up", opts);
  try {
    return await runPlaybook(ctx, "up", {
      only,
      skip,
      allowFormat: local.allowFormat,
      file: local.playbook,
    });
  } finally {
    ctx.close();
  }
}
