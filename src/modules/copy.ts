/**
 * A file with exact content (from a string or a rendered template), mode and owner. Compared by
 * content, so a rerun with the same inputs writes nothing.
 */
import type { Change, ShellModule } from "../engine/types.js";
import {
  ownerMatches,
  parseFileProbe,
  probeFileCommand,
  writeFileAtomic,
  type RemoteFile,
} from "./remote-file.js";

export interface CopyParams {
  path: string;
  content: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** Content holds a secret: --diff and the run log show only how many lines changed (Change.sensitive). */
  sensitive?: boolean;
}

export const copy: ShellModule<CopyParams, RemoteFile> = {
  name: "copy",
  probe: (p) => ({ command: probeFileCommand(p.path), parse: parseFileProbe }),
  plan(seen, p) {
    const changes: Change[] = [];
    if (seen.exists && seen.kind !== "regular file") {
      throw new Error(`${p.path} exists and is a ${seen.kind}, not a file: remove or rename it`);
    }
    if (!seen.exists || seen.content !== p.content) {
      changes.push({
        summary: seen.exists ? `update ${p.path}` : `create ${p.path}`,
        diff: { path: p.path, before: seen.content ?? "", after: p.content },
        ...(p.sensitive ? { sensitive: true } : {}),
      });
    }
    if (seen.exists && p.mode && seen.mode !== p.mode.padStart(4, "0"))
      changes.push({ summary: `mode of ${p.path}: ${seen.mode} -> ${p.mode}` });
    if (seen.exists && !ownerMatches(seen, p.owner, p.group)) {
      changes.push({
        summary: `owner of ${p.path}: ${seen.owner}:${seen.group} -> ${p.owner ?? seen.owner}:${p.group ?? seen.group}`,
      });
    }
    return changes;
  },
  async apply({ host }, p) {
    // One atomic write fixes content, mode and owner together.
    await writeFileAtomic(host, p.path, p.content, {
      mode: p.mode ?? "0644",
      owner: p.owner,
      group: p.group,
    });
  },
};
