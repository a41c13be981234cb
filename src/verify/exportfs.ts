/**
 * The kernel's export table as `exportfs -v` prints it (nfs-utils `exportfs.c`, `dump()`): one line per
 * (path, client), `path<TAB>client(options)`; a path longer than the column is printed alone, and its
 * clients follow on lines that start with whitespace. `*` is printed as `<world>`.
 *
 *   /mnt/data     	10.0.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,rw,secure,no_root_squash,no_all_squash)
 *   /srv/a/very/long/path
 *   		10.0.0.0/24(rw,...)
 */
import { ipv4ToInt } from "../inventory/network.js";

export interface ExportEntry {
  path: string;
  client: string;
  options: string[];
}

export function parseExportfs(text: string): ExportEntry[] {
  const entries: ExportEntry[] = [];
  let path: string | undefined;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let rest: string;
    if (/^\s/.test(line)) {
      rest = line.trim();
    } else {
      const m = /^(\S+)\s*(.*)$/.exec(line)!;
      path = m[1]!;
      rest = m[2]!.trim();
    }
    if (!path || !rest) continue;
    const c = /^(\S+?)\((.*)\)$/.exec(rest);
    entries.push(
      c ? { path, client: c[1]!, options: c[2]!.split(",") } : { path, client: rest, options: [] },
    );
  }
  return entries;
}

/**
 * Does an export client mean exactly this network? `10.0.0.0/24` and `10.0.0.0/255.255.255.0` are the
 * same; a host inside the network, a wider network or `<world>` are not (they are reported as found).
 */
export function sameNetwork(client: string, cidr: string): boolean {
  const a = network(client);
  const b = network(cidr);
  return a !== undefined && b !== undefined && a.base === b.base && a.bits === b.bits;
}

function network(text: string): { base: number; bits: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+\.\d+\.\d+\.\d+|\d+)$/.exec(text);
  if (!m) return undefined;
  const bits = m[2]!.includes(".") ? maskBits(m[2]!) : Number(m[2]);
  if (bits === undefined || bits < 0 || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ipv4ToInt(m[1]!) & mask) >>> 0, bits };
}

function maskBits(mask: string): number | undefined {
  const n = ipv4ToInt(mask);
  const bits = n.toString(2).replace(/0+$/, "");
  return /^1*$/.test(bits) ? bits.length : undefined;
}
