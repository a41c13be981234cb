/**
 * A directory powerstack made, removed once it is empty and nothing is mounted on it: the mount point an
 * unmount left behind (as Ansible's `mount: state=absent` removes it), or /var/lib/powerstack once its
 * files are gone. A directory holding anything, or still a mount point, is kept: this never deletes a file.
 */
import type { ShellModule } from "../engine/types.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export interface EmptyDirAbsentParams {
  path: string;
}

export type DirSeen = "missing" | "mounted" | "not-empty" | "empty";

export const emptyDirAbsent: ShellModule<EmptyDirAbsentParams, DirSeen> = {
  name: "empty-dir-absent",
  probe: (p) => ({
    command: `p=${shq(p.path)}; if [ ! -d "$p" ] || [ -L "$p" ]; then echo missing; elif findmnt --mountpoint "$p" >/dev/null 2>&1; then echo mounted; elif [ -n "$(ls -A "$p")" ]; then echo not-empty; else echo empty; fi`,
    parse: (out) => (out.trim() || "missing") as DirSeen,
  }),
  // Mounted: in check mode the unmount before this was only planned; what lies below is unknown, so kept.
  plan: (seen, p) => (seen === "empty" ? [{ summary: `remove the empty directory ${p.path}` }] : []),
  async apply({ host }, p) {
    await run(host, `rmdir -- ${shq(p.path)}`);
  },
};
