/**
 * The host's Debian mirror, read from its apt sources (deb822 `*.sources` and one-line `sources.list`).
 * The lab never names a mirror itself: the base is bootstrapped from the host's mirror, nodes get the
 * host's Debian entries, and the relay forwards each mirror host the entries use.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { LabError } from "./exec.js";

export interface AptEntry {
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
}

export interface MirrorHost {
  host: string;
  port: number;
}

export interface HostMirror {
  /** The host's release codename (`bookworm`): the lab's suite. */
  codename: string;
  /** URL debootstrap uses: the first entry that carries the bare codename suite. */
  bootstrapUrl: string;
  /** The host's entries for this release (deb, http), as nodes get them. */
  entries: AptEntry[];
  /** Every host:port those entries reach: one relay each. */
  hosts: MirrorHost[];
}

function osCodename(): string {
  const text = readFileSync("/etc/os-release", "utf8");
  const m = /^VERSION_CODENAME="?([a-z]+)"?$/m.exec(text);
  if (!m) throw new LabError("cannot read VERSION_CODENAME from /etc/os-release");
  return m[1]!;
}

function parseDeb822(text: string): AptEntry[] {
  const entries: AptEntry[] = [];
  const paragraphs = text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n")
    .split(/\n\s*\n/);
  for (const p of paragraphs) {
    const fields = new Map<string, string>();
    let key = "";
    for (const line of p.split("\n")) {
      if (/^\s/.test(line) && key) fields.set(key, `${fields.get(key)} ${line.trim()}`);
      else {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) fields.set((key = m[1]!.toLowerCase()), m[2]!.trim());
      }
    }
    const words = (k: string) => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
    if (!words("types").includes("deb") || fields.get("enabled") === "no") continue;
    entries.push({
      uris: words("uris"),
      suites: words("suites"),
      components: words("components"),
      signedBy: fields.get("signed-by"),
    });
  }
  return entries;
}

function parseOneLine(text: string): AptEntry[] {
  const entries: AptEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /signed-by=(\S+)/.exec(m[1] ?? "")?.[1];
    entries.push({
      uris: [m[2]!],
      suites: [m[3]!],
      components: m[4]!.split(/\s+/).filter(Boolean),
      signedBy,
    });
  }
  return entries;
}

export function hostMirror(root = "/etc/apt"): HostMirror {
  const codename = osCodename();
  let all: AptEntry[] = [];
  if (existsSync(`${root}/sources.list`))
    all.push(...parseOneLine(readFileSync(`${root}/sources.list`, "utf8")));
  const dir = `${root}/sources.list.d`;
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const text = readFileSync(`${dir}/${f}`, "utf8");
      if (f.endsWith(".sources")) all.push(...parseDeb822(text));
      else if (f.endsWith(".list")) all.push(...parseOneLine(text));
    }
  }
  // Only this release's entries over plain HTTP(S): the relay forwards TCP, the node sees the real host name.
  all = all
    .map((e) => ({
      ...e,
      uris: e.uris.filter((u) => /^https?:\/\//.test(u)),
      suites: e.suites.filter(
        (s) => s === codename || s.startsWith(`${codename}-`) || s.startsWith(`${codename}/`),
      ),
    }))
    .filter((e) => e.uris.length > 0 && e.suites.length > 0);
  const boot = all.find((e) => e.suites.includes(codename));
  if (!boot) {
    throw new LabError(
      `no apt source for \`${codename}\` in ${root}/sources.list or ${root}/sources.list.d/: the lab bootstraps its nodes from the host's Debian mirror`,
    );
  }
  const hosts: MirrorHost[] = [];
  for (const e of all) {
    for (const u of e.uris) {
      const url = new URL(u);
      const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
      if (!hosts.some((h) => h.host === url.hostname && h.port === port))
        hosts.push({ host: url.hostname, port });
    }
  }
  return { codename, bootstrapUrl: boot.uris[0]!, entries: all, hosts };
}

/** The entries as one deb822 file for the nodes. */
export function renderSources(entries: AptEntry[]): string {
  return entries
    .map((e) =>
      [
        "Types: deb",
        `URIs: ${e.uris.join(" ")}`,
        `Suites: ${e.suites.join(" ")}`,
        `Components: ${e.components.join(" ")}`,
        ...(e.signedBy ? [`Signed-By: ${e.signedBy}`] : []),
      ].join("\n"),
    )
    .join("\n\n")
    .concat("\n");
}
