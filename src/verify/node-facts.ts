/**
 * Everything the node checks need, read in ONE remote command per node: the live perf_event_paranoid,
 * what is mounted at the data path (and, on the control node, the UUID of that filesystem), /etc/fstab,
 * the export table (control) and the K3s unit's state.
 *
 * Each read is a section on its own line: `@@<name> <exit code> <base64 of stdout+stderr>`, so output of
 * any shape (a fstab with blank lines, an error message) cannot be mistaken for another section.
 *
 * Read-only, and nothing here touches the data path itself (no stat, ls or df): on a worker whose NFS
 * server is gone a `hard` mount blocks every such call, and these reads must still answer. findmnt reads
 * /proc/self/mountinfo only.
 */
import type { NodeRole } from "../inventory/types.js";
import { shq, type Host } from "../transport/host.js";

/** Where the live value is: sysctl reads the same file, and the container lab binds its stand-in here. */
export const PARANOID_PATH = "/proc/sys/kernel/perf_event_paranoid";

export const K3S_UNIT: Record<NodeRole, string> = { control: "k3s.service", worker: "k3s-agent.service" };

/** One read: its exit code and combined output. */
export interface Section {
  code: number;
  out: string;
}

export interface NodeFacts {
  paranoid?: Section;
  /** `findmnt -P` of the data path: SOURCE, FSTYPE, OPTIONS of the topmost mount. */
  mount?: Section;
  /** `blkid` UUID of the filesystem mounted at the data path (control only). */
  uuid?: Section;
  fstab?: Section;
  /** `exportfs -v` (control only). */
  exports?: Section;
  /** `systemctl show` LoadState/ActiveState/SubState of the K3s unit. */
  unit?: Section;
}

export type SectionName = keyof NodeFacts;

function section(name: SectionName, command: string): string {
  // `$(...)` drops trailing newlines only, which no parser below relies on.
  return `o=$( { ${command} ; } 2>&1 ); c=$?; printf '@@%s %s %s\\n' ${name} "$c" "$(printf '%s' "$o" | base64 -w0)"`;
}

export function nodeFactsScript(role: NodeRole, dataPath: string): string {
  const path = shq(dataPath);
  const sections = [
    section("paranoid", `cat ${PARANOID_PATH}`),
    section("mount", `findmnt -P -n -o SOURCE,FSTYPE,OPTIONS --mountpoint ${path} | tail -n 1`),
    section("fstab", "cat /etc/fstab"),
    section("unit", `systemctl show -p LoadState -p ActiveState -p SubState ${K3S_UNIT[role]}`),
  ];
  if (role === "control") {
    sections.push(
      // blkid -p probes the device itself: no udev database needed (containers have none). A btrfs
      // subvolume mount shows as `/dev/sdb[/@data]`: the device is what precedes the bracket.
      section(
        "uuid",
        `src=$(findmnt -n -o SOURCE --mountpoint ${path} | tail -n 1 | sed 's/\\[.*//'); [ -n "$src" ] && blkid -p -o value -s UUID "$src"`,
      ),
      section("exports", "exportfs -v"),
    );
  }
  return sections.join("; ");
}

export function parseNodeFacts(stdout: string): NodeFacts {
  const facts: NodeFacts = {};
  for (const line of stdout.split("\n")) {
    const m = /^@@(\w+) (\d+) ?(\S*)$/.exec(line.trim());
    if (!m) continue;
    facts[m[1] as SectionName] = {
      code: Number(m[2]),
      out: Buffer.from(m[3] ?? "", "base64").toString("utf8"),
    };
  }
  return facts;
}

/** One round trip: the script, as root (exportfs and a root-only fstab need it), bounded on the host. */
export async function readNodeFacts(
  host: Host,
  role: NodeRole,
  dataPath: string,
  timeoutSec = 30,
): Promise<NodeFacts> {
  const r = await host.exec(nodeFactsScript(role, dataPath), { timeoutSec });
  const facts = parseNodeFacts(r.stdout);
  if (Object.keys(facts).length === 0) {
    throw new Error(
      `${host.name}: the read script printed nothing usable (exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}` : ""})`,
    );
  }
  return facts;
}

/** `KEY="value" KEY="value"` (findmnt -P) to a record. findmnt escapes `"` and blanks as \x.. codes. */
export function parsePairs(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    out[m[1]!] = m[2]!.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) =>
      String.fromCharCode(parseInt(h, 16)),
    );
  }
  return out;
}
