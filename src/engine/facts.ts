/**
 * The host's own facts, read once per run when the runner first reaches the host: OS, architecture, init
 * system, block devices, memory, network interfaces. Roles read them to decide what to do (`when`,
 * defaults). It is an ordinary fact (fact.ts), read through the host's FactCache like every other.
 */
import { defineFact, FactReadError } from "./fact.js";

export interface BlockDevice {
  path: string;
  type: string;
  size: number;
  fstype?: string;
  mountpoint?: string;
}

export interface Facts {
  hostname: string;
  os: { id: string; versionId: string; prettyName: string; family: "debian" | "other" };
  arch: string;
  kernel: string;
  /** `systemd` when PID 1 is systemd. */
  init: string;
  memTotalKb: number;
  blockDevices: BlockDevice[];
  interfaces: Array<{ name: string; addresses: string[] }>;
}

const SECTIONS = ["os", "arch", "kernel", "init", "mem", "lsblk", "ip", "hostname"] as const;

/**
 * Files are read with the shell's own `read`, not `cat`/`sed`/`hostname`: every program started costs a
 * fork and exec on the node, and this runs before anything else on every host. Only `uname`, `lsblk`
 * and `ip` are programs (the kernel's osrelease and hostname come from /proc/sys, as `uname -r` and
 * `hostname` read them).
 */
export const FACTS_SCRIPT = [
  `echo @@os; while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done 2>/dev/null </etc/os-release`,
  "echo @@arch; uname -m",
  `echo @@kernel; read -r v </proc/sys/kernel/osrelease && printf '%s\\n' "$v"`,
  `echo @@init; read -r v </proc/1/comm && printf '%s\\n' "$v"`,
  `echo @@mem; while read -r k v _; do [ "$k" = MemTotal: ] && printf '%s\\n' "$v" && break; done </proc/meminfo`,
  "echo @@lsblk; lsblk -J -b -o PATH,TYPE,SIZE,FSTYPE,MOUNTPOINT 2>/dev/null",
  "echo @@ip; ip -j addr 2>/dev/null",
  `echo @@hostname; read -r v </proc/sys/kernel/hostname && printf '%s\\n' "$v"`,
].join("; ");

export function parseFacts(stdout: string): Facts {
  const parts: Record<string, string> = {};
  let current = "";
  for (const line of stdout.split("\n")) {
    const m = /^@@(\w+)$/.exec(line);
    if (m && (SECTIONS as readonly string[]).includes(m[1]!)) current = m[1]!;
    else if (current) parts[current] = (parts[current] ?? "") + line + "\n";
  }
  const osRelease = Object.fromEntries(
    (parts.os ?? "")
      .split("\n")
      .map((l) => /^(\w+)=("?)(.*)\2$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[3]]),
  ) as Record<string, string>;
  const like = `${osRelease.ID ?? ""} ${osRelease.ID_LIKE ?? ""}`;
  const json = <T>(text: string | undefined, fallback: T): T => {
    try {
      return text?.trim() ? (JSON.parse(text) as T) : fallback;
    } catch {
      return fallback;
    }
  };
  const lsblk = json<{ blockdevices?: Array<Record<string, unknown>> }>(parts.lsblk, {});
  const ip = json<Array<{ ifname: string; addr_info?: Array<{ local: string }> }>>(parts.ip, []);
  return {
    hostname: (parts.hostname ?? "").trim(),
    os: {
      id: osRelease.ID ?? "unknown",
      versionId: osRelease.VERSION_ID ?? "",
      prettyName: osRelease.PRETTY_NAME ?? "unknown",
      family: /debian|ubuntu/.test(like) ? "debian" : "other",
    },
    arch: (parts.arch ?? "").trim(),
    kernel: (parts.kernel ?? "").trim(),
    init: (parts.init ?? "").trim(),
    memTotalKb: Number((parts.mem ?? "0").trim()) || 0,
    blockDevices: (lsblk.blockdevices ?? []).map((d) => ({
      path: String(d.path),
      type: String(d.type),
      size: Number(d.size),
      fstype: (d.fstype as string | null) ?? undefined,
      mountpoint: (d.mountpoint as string | null) ?? undefined,
    })),
    interfaces: ip.map((i) => ({ name: i.ifname, addresses: (i.addr_info ?? []).map((a) => a.local) })),
  };
}

export const hostFacts = defineFact<Facts>({
  name: "host",
  command: () => FACTS_SCRIPT,
  parse(out) {
    if (out.code !== 0 && !out.stdout.includes("@@hostname"))
      throw new FactReadError("host", "host facts", out);
    return parseFacts(out.stdout);
  },
});
