/**
 * /etc/fstab entries, as fstab(5) defines them: whitespace-separated fields, `#` comments, blanks in
 * paths written as octal escapes (`\040`). The mount module writes fields with `fstabField` and `verify`
 * reads them with `parseFstab`: one encoding, both ways.
 */

export const FSTAB = "/etc/fstab";

/** A path or source as an fstab field: space, tab, newline and backslash as octal escapes. */
export const fstabField = (value: string) =>
  value.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

export interface FstabEntry {
  /** Field 1: `UUID=...`, `/dev/...`, `server:/path`. */
  spec: string;
  /** Field 2: the mount point. */
  file: string;
  vfstype: string;
  options: string[];
  /** The line as written, for messages. */
  line: string;
}

const unescape = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseFstab(text: string): FstabEntry[] {
  const entries: FstabEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [spec, file, vfstype = "", options = "defaults"] = line.split(/\s+/);
    if (!spec || !file) continue;
    entries.push({
      spec: unescape(spec),
      file: unescape(file).replace(/(.)\/+$/, "$1"),
      vfstype,
      options: options.split(","),
      line,
    });
  }
  return entries;
}

/** Entries whose mount point is `path` (trailing slashes ignored). */
export function entriesFor(entries: FstabEntry[], path: string): FstabEntry[] {
  const want = path.replace(/(.)\/+$/, "$1");
  return entries.filter((e) => e.file === want);
}
