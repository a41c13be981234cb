/**
 * A kernel parameter, persistent (a drop-in under /etc/sysctl.d) and live. The two are checked
 * separately: a drop-in written by hand but never loaded is still fixed live.
 */
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { file, type RemoteFile } from "../facts/file.js";
import { sysctl as sysctlFact } from "../facts/system.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";
import { writeFileAtomic } from "./remote-file.js";

export interface SysctlParams {
  name: string;
  value: string;
  /** Drop-in file, e.g. /etc/sysctl.d/90-powerstack-perf.conf. */
  file: string;
}

interface SysctlSeen {
  live: string | undefined;
  dropIn: RemoteFile;
}

export type SysctlAction =
  | { kind: "persist"; diff: { path: string; before: string; after: string } }
  | { kind: "set-live"; was: string };

export const dropInContent = (p: SysctlParams) => `# Managed by powerstack\n${p.name} = ${p.value}\n`;

export const sysctl: Module<SysctlParams, SysctlSeen, SysctlAction> = {
  name: "sysctl",
  reads: (p) => ({ live: sysctlFact.of(p.name), dropIn: file.of(p.file) }),
  plan(seen, p) {
    const actions: SysctlAction[] = [];
    const want = dropInContent(p);
    const have = seen.dropIn.content;
    if (have !== want)
      actions.push({ kind: "persist", diff: { path: p.file, before: have ?? "", after: want } });
    if (seen.live === undefined)
      throw new PowerstackError(
        `kernel parameter ${p.name} does not exist on this host`,
        undefined,
        "check the parameter's name, or load the kernel module that provides it",
      );
    if (seen.live !== p.value) actions.push({ kind: "set-live", was: seen.live });
    return actions;
  },
  describe: (a, p) =>
    a.kind === "persist"
      ? `persist ${p.name} = ${p.value} in ${p.file}`
      : `set ${p.name} = ${p.value} live (was ${a.was})`,
  touches: (a, p) => [a.kind === "persist" ? file.of(p.file) : sysctlFact.of(p.name)],
  async apply({ host }, actions, p) {
    for (const a of actions) {
      if (a.kind === "persist") await writeFileAtomic(host, p.file, a.diff.after, { mode: "0644" });
      else await run(host, `sysctl -q -w ${shq(`${p.name}=${p.value}`)}`);
    }
  },
};
