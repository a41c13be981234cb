/** A directory (or the absence of a path) with mode and owner. */
import type { Change, ShellModule } from "../engine/types.js";
import { run } from "../transport/run.js";
import { shq } from "../transport/host.js";
import { ownerMatches, parseFileProbe, probeFileCommand, type RemoteFile } from "./remote-file.js";

export interface FileParams {
  path: string;
  state: "directory" | "absent";
  mode?: string;
  owner?: string;
  group?: string;
}

export const file: ShellModule<FileParams, RemoteFile> = {
  name: "file",
  probe: (p) => ({ command: probeFileCommand(p.path), parse: parseFileProbe }),
  plan(seen, p) {
    if (p.state === "absent") return seen.exists ? [{ summary: `remove ${p.path}` }] : [];
    if (seen.exists && seen.kind !== "directory")
      throw new Error(`${p.path} exists and is a ${seen.kind}, not a directory: remove or rename it`);
    const changes: Change[] = [];
    if (!seen.exists) changes.push({ summary: `create directory ${p.path}` });
    else {
      if (p.mode && seen.mode !== p.mode.padStart(4, "0"))
        changes.push({ summary: `mode of ${p.path}: ${seen.mode} -> ${p.mode}` });
      if (!ownerMatches(seen, p.owner, p.group)) {
        changes.push({
          summary: `owner of ${p.path}: ${seen.owner}:${seen.group} -> ${p.owner ?? seen.owner}:${p.group ?? seen.group}`,
        });
      }
    }
    return changes;
  },
  async apply({ host }, p) {
    if (p.state === "absent") {
      await run(host, `rm -rf -- ${shq(p.path)}`);
      return;
    }
    const cmds = [`mkdir -p -- ${shq(p.path)}`];
    if (p.mode) cmds.push(`chmod ${shq(p.mode)} -- ${shq(p.path)}`);
    if (p.owner || p.group)
      cmds.push(`chown ${shq(`${p.owner ?? ""}${p.group ? ":" + p.group : ""}`)} -- ${shq(p.path)}`);
    await run(host, cmds.join(" && "));
  },
};
