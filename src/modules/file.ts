/** A directory (or the absence of a path) with mode and owner. */
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { file as fileFact, type RemoteFile } from "../facts/file.js";
import { dirState } from "../facts/system.js";
import { run } from "../transport/run.js";
import { shq } from "../transport/host.js";
import { chownArg, metaActions, type MetaAction } from "./remote-file.js";

export interface FileParams {
  path: string;
  state: "directory" | "absent";
  mode?: string;
  owner?: string;
  group?: string;
}

export type FileAction = { kind: "remove" } | { kind: "create-directory" } | MetaAction;

export const file: Module<FileParams, { path: RemoteFile }, FileAction> = {
  name: "file",
  reads: (p) => ({ path: fileFact.of(p.path) }),
  plan({ path: seen }, p) {
    if (p.state === "absent") return seen.exists ? [{ kind: "remove" }] : [];
    if (seen.exists && seen.kind !== "directory")
      throw new PowerstackError(
        `${p.path} exists and is a ${seen.kind}, not a directory`,
        undefined,
        "remove or rename it, then rerun",
      );
    if (!seen.exists) return [{ kind: "create-directory" }];
    return metaActions(seen, p);
  },
  describe(a, p) {
    switch (a.kind) {
      case "remove":
        return `remove ${p.path}`;
      case "create-directory":
        return `create directory ${p.path}`;
      case "chmod":
        return `mode of ${p.path}: ${a.was} -> ${p.mode}`;
      case "chown":
        return `owner of ${p.path}: ${a.was} -> ${a.now}`;
    }
  },
  // A removed directory takes everything under it: facts of paths below it are stale too.
  // `mkdir -p` may create parents too, and whatever is emptied or created changes dir-state reads.
  touches: (a, p) =>
    a.kind === "remove"
      ? "all"
      : a.kind === "create-directory"
        ? [fileFact, dirState]
        : [fileFact.of(p.path)],
  async apply({ host }, actions, p) {
    const path = shq(p.path);
    const cmds = actions.flatMap((a) => {
      switch (a.kind) {
        case "remove":
          return [`rm -rf -- ${path}`];
        case "create-directory":
          return [
            `mkdir -p -- ${path}`,
            ...(p.mode ? [`chmod ${shq(p.mode)} -- ${path}`] : []),
            ...(p.owner || p.group ? [`chown ${shq(chownArg(p.owner, p.group))} -- ${path}`] : []),
          ];
        case "chmod":
          return [`chmod ${shq(p.mode!)} -- ${path}`];
        case "chown":
          return [`chown ${shq(chownArg(p.owner, p.group))} -- ${path}`];
      }
    });
    await run(host, cmds.join(" && "));
  },
};
