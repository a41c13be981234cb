/**
 * A file with exact content (from a string or a rendered template), mode and owner. Compared by
 * content, so a rerun with the same inputs writes nothing.
 */
import { PowerstackError } from "../errors.js";
import type { FileDiff, Module } from "../engine/types.js";
import { afterWriting, file, type RemoteFile } from "../facts/file.js";
import { metaActions, writeFileAtomic, type MetaAction } from "./remote-file.js";

export interface CopyParams {
  path: string;
  content: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** Content holds a secret: --diff and the run log show only how many lines changed. */
  sensitive?: boolean;
}

export type CopyAction = { kind: "create" | "update"; diff: FileDiff; sensitive?: boolean } | MetaAction;

export const copy: Module<CopyParams, { path: RemoteFile }, CopyAction> = {
  name: "copy",
  reads: (p) => ({ path: file.of(p.path) }),
  plan({ path: seen }, p) {
    if (seen.exists && seen.kind !== "regular file")
      throw new PowerstackError(
        `${p.path} exists and is a ${seen.kind}, not a file`,
        undefined,
        "remove or rename it, then rerun",
      );
    const actions: CopyAction[] = [];
    if (!seen.exists || seen.content !== p.content)
      actions.push({
        kind: seen.exists ? "update" : "create",
        diff: { path: p.path, before: seen.content ?? "", after: p.content },
        ...(p.sensitive ? { sensitive: true } : {}),
      });
    if (seen.exists) actions.push(...metaActions(seen, p));
    return actions;
  },
  describe(a, p) {
    if (a.kind === "chmod") return `mode of ${p.path}: ${a.was} -> ${p.mode}`;
    if (a.kind === "chown") return `owner of ${p.path}: ${a.was} -> ${a.now}`;
    return `${a.kind} ${p.path}`;
  },
  touches: (_a, p) => afterWriting(p.path),
  async apply({ host }, _actions, p) {
    // One atomic write fixes content, mode and owner together, whichever of them differed.
    await writeFileAtomic(host, p.path, p.content, {
      mode: p.mode ?? "0644",
      owner: p.owner,
      group: p.group,
    });
  },
};
