/**
 * A directory powerstack made, removed once it is empty and nothing is mounted on it: the mount point an
 * unmount left behind (as Ansible's `mount: state=absent` removes it), or /var/lib/powerstack once its
 * files are gone. A directory holding anything, or still a mount point, is kept: this never deletes a file.
 */
import type { Module } from "../engine/types.js";
import { file } from "../facts/file.js";
import { dirState, type DirState } from "../facts/system.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface EmptyDirAbsentParams {
  path: string;
}

export type { DirState as DirSeen };

export const emptyDirAbsent: Module<EmptyDirAbsentParams, { dir: DirState }, { kind: "rmdir" }> = {
  name: "empty-dir-absent",
  reads: (p) => ({ dir: dirState.of(p.path) }),
  // Mounted: in check mode the unmount before this was only planned; what lies below is unknown, so kept.
  plan: ({ dir }) => (dir === "empty" ? [{ kind: "rmdir" }] : []),
  describe: (_a, p) => `remove the empty directory ${p.path}`,
  touches: (_a, p) => [dirState.of(p.path), file.of(p.path)],
  async apply({ host }, _actions, p) {
    await run(host, `rmdir -- ${shq(p.path)}`);
  },
};
