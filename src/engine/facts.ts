/**
 * Facts about a host, gathered once per run in ONE remote command: OS, architecture, init system,
 * block devices, memory, network interfaces. Roles read them to decide what to do (`when`, defaults).
 */
import type { Host } from "../transport/host.js";
import { CommandError } from "../transport/errors.js";

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

export const FACTS_SCRIPT = [
  "echo @@os; cat /etc/os-release 2>/dev/null",
  "echo @@arch; uname -m",
  "echo @@kernel; uname -r",
  "echo @@init; cat /proc/1/comm",
  "echo @@mem; sed -n 's/^MemTotal: *\\([0-9]*\\).*/\\1/p' /proc/meminfo",
  "echo @@lsblk; lsblk -J -b -o PATH,TYPE,SIZE,FSTYPE,MOUNTPOINT 2>/dev/null",
  "echo @@ip; ip -j addr 2>/dev/null",
  "echo @@hostname; hostname",
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

export async function gatherFacts(host: Host): Promise<Facts> {
  const r = await host.exec(FACTS_SCRIPT, { timeoutSec: 60 });
  if (r.code !== 0 && !r.stdout.includes("@@hostname"))
    throw new CommandError(host.name, "gather facts", r.code, r.stderr);
  return parseFacts(r.stdout);
}
