/**
 * A kernel parameter, persistent (a drop-in under /etc/sysctl.d) and live. The two are checked
 * separately: a drop-in written by hand but never loaded is still fixed live.
 */
import type { Change, ShellModule } from "../engine/types.js";
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
  live?: string;
  dropIn?: string;
}

const procPath = (name: string) => `/proc/sys/${name.replace(/\./g, "/")}`;
export const dropInContent = (p: SysctlParams) => `# Managed by powerstack\n${p.name} = ${p.value}\n`;

export const sysctl: ShellModule<SysctlParams, SysctlSeen> = {
  name: "sysctl",
  probe: (p) => ({
    command: `echo "live=$(cat ${shq(procPath(p.name))} 2>/dev/null)"; if [ -f ${shq(p.file)} ]; then base64 -w0 ${shq(p.file)}; fi`,
    parse(stdout) {
      const [first = "", body] = stdout.split("\n");
      const live = first.replace(/^live=/, "").trim();
      return {
        live: live === "" ? undefined : live,
        dropIn: body?.trim() ? Buffer.from(body.trim(), "base64").toString("utf8") : undefined,
      };
    },
  }),
  plan(seen, p) {
    const changes: Change[] = [];
    const want = dropInContent(p);
    if (seen.dropIn !== want) {
      changes.push({
        summary: `persist ${p.name} = ${p.value} in ${p.file}`,
        diff: { path: p.file, before: seen.dropIn ?? "", after: want },
      });
    }
    if (seen.live === undefined)
      throw new Error(`kernel parameter ${p.name} does not exist on this host (no ${procPath(p.name)})`);
    if (seen.live.replace(/\s+/g, " ") !== p.value)
      changes.push({ summary: `set ${p.name} = ${p.value} live (was ${seen.live})` });
    return changes;
  },
  async apply({ host }, p, changes) {
    if (changes.some((c) => c.diff)) await writeFileAtomic(host, p.file, dropInContent(p), { mode: "0644" });
    if (changes.some((c) => !c.diff)) await run(host, `sysctl -q -w ${shq(`${p.name}=${p.value}`)}`);
  },
};
