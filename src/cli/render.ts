/**
 * `powerstack render DIR`: every artifact `up` would send (K3s configs, Helm values and post-renderers,
 * manifests) written as files, from the inventory alone: no host, cluster or vault is touched, and secrets
 * are `<vault:KEY>` placeholders. For review, for diffs between versions, for a GitOps repository, and
 * for the tests that feed it to the real Helm.
 */
import { resolve } from "node:path";
import { loadInventory } from "../inventory/load.js";
import { renderArtifacts } from "../render/artifacts.js";
import { writeRendered } from "../render/write.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import type { ParsedCommand } from "./argv.js";
import type { GlobalOptions } from "./options.js";

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  const [dir] = cmd.args as [string];
  const out = new Output(new Redactor(), opts.json);
  const inventory = loadInventory(opts.inventory);
  const target = resolve(dir);
  const index = writeRendered(target, renderArtifacts(inventory));
  if (opts.json) out.object({ dir: target, ...index });
  else
    out.info(
      `rendered ${index.nodes.length} node config(s), ${index.releases.length} release(s) and ` +
        `${index.manifests.length} manifest file(s) into ${target} (index.json lists them; secrets are <vault:KEY> placeholders)`,
    );
  return 0;
}
