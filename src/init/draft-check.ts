/**
 * The whole-inventory check before anything is written: the draft is rendered and run through the
 * loader's own `parseInventory`, so the rules that span several keys (one control node, unique names
 * and IPs, IPs inside the NFS network, the control node's disk, distinct NodePorts...) are the loader's,
 * not a copy. Each problem names a key path; interactively that key is asked again with the problem shown.
 */
import { InputError } from "../errors.js";
import { fieldAt, parsePath } from "../inventory/field-check.js";
import { InventoryError, parseInventory } from "../inventory/load.js";
import { formatPath, type Path, type Problem } from "../inventory/schema-walker.js";
import type { Asker } from "./asker.js";
import { getIn, nodes, setIn, type Draft } from "./draft.js";
import { inventoryData, planVault } from "./draft-vault.js";
import { renderInventory } from "./render-inventory.js";

const MAX_ROUNDS = 10;

export function draftProblems(draft: Draft, file: string, vaultFile: string): Problem[] {
  try {
    parseInventory(renderInventory(inventoryData(draft, planVault(draft, file, vaultFile)), []), file);
    return [];
  } catch (err) {
    if (err instanceof InventoryError) return err.problems;
    throw err;
  }
}

/** Until the draft passes the loader: re-ask the keys it complains about, or (non-interactive) fail listing them. */
export async function settleDraft(
  draft: Draft,
  asker: Asker,
  file: string,
  vaultFile: string,
): Promise<void> {
  for (let round = 0; ; round++) {
    const problems = draftProblems(draft, file, vaultFile);
    if (problems.length === 0) return;
    const reasks = problems.map((p) => ({ p, paths: pathsToAsk(draft, p) }));
    const stuck = reasks.filter((r) => r.paths.length === 0).map((r) => r.p);
    if (!asker.interactive || stuck.length > 0 || round >= MAX_ROUNDS) {
      throw new InputError(
        `the answers do not make a valid inventory:\n  ${(stuck.length > 0 ? stuck : problems).map((p) => `${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n  ")}`,
        asker.interactive
          ? "run `powerstack init` again; nothing was written"
          : "correct the --node/--set values (or the imported inventory); nothing was written",
      );
    }
    const asked = new Set<string>();
    for (const { p, paths } of reasks) {
      for (const path of paths) {
        const key = formatPath(path);
        if (asked.has(key)) continue;
        asked.add(key);
        const value = await asker.field({
          path,
          message: labelOf(draft, path),
          retry: { error: `${p.message}; fix: ${p.fix}`, current: getIn(draft.doc, path) },
        });
        setIn(draft.doc, path, value);
      }
    }
  }
}

/**
 * The keys to ask again for one problem. A problem on a single key asks that key; the loader reports a
 * few on a whole section, mapped here: `nodes` (no control node) asks every role, `nodes[i]` (the control
 * node without a disk) asks its disk. An internal IP outside the NFS network may be the network's fault,
 * so the network is offered first, pre-filled.
 */
function pathsToAsk(draft: Draft, p: Problem): Path[] {
  const path = parsePath(p.key);
  if (p.key === "nodes") return nodes(draft).map((_n, i) => ["nodes", i, "role"]);
  if (path.length === 2 && path[0] === "nodes" && typeof path[1] === "number")
    return [[...path, "storage_disk"]];
  const field = fieldAt(path);
  if (!field || field.kind === "object" || field.kind === "list") return [];
  if (path[0] === "nodes" && path[2] === "internal_ip" && /NFS network/.test(p.message))
    return [["cluster", "nfs_network"], path];
  return [path];
}

function labelOf(draft: Draft, path: Path): string {
  if (path[0] === "nodes" && typeof path[1] === "number") {
    const name = nodes(draft)[path[1]]?.name;
    return `${typeof name === "string" ? name : `node ${path[1] + 1}`}: ${formatPath(path.slice(2))}`;
  }
  return formatPath(path);
}
