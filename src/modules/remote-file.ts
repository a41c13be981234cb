/**
 * Writing whole files on a host: the atomic write (temp file in the same directory, then rename) every
 * module that edits a file goes through, so a node never sees a half-written fstab or exports file.
 * Reading them is the `file` fact (src/facts/file.ts).
 */
import { CommandError } from "../transport/errors.js";
import type { RemoteFile } from "../facts/file.js";
import { shq, type Host } from "../transport/host.js";

export type { RemoteFile };

export interface WriteOptions {
  mode?: string;
  owner?: string;
  group?: string;
}

/** Write `content` to `path` atomically; without mode/owner an existing file keeps its own. */
export async function writeFileAtomic(
  host: Host,
  path: string,
  content: string | Buffer,
  opts: WriteOptions = {},
): Promise<void> {
  const p = shq(path);
  const perms = [
    opts.mode
      ? `chmod ${shq(opts.mode)} "$t"`
      : `if [ -e ${p} ]; then chmod --reference=${p} "$t"; else chmod 0644 "$t"; fi`,
    opts.owner || opts.group
      ? `chown ${shq(chownArg(opts.owner, opts.group))} "$t"`
      : `if [ -e ${p} ]; then chown --reference=${p} "$t"; fi`,
  ];
  const script = [
    "set -e",
    `t=$(mktemp ${shq(dirOf(path) + "/.powerstack.")}XXXXXX)`,
    `trap 'rm -f "$t"' EXIT`,
    `cat > "$t"`,
    ...perms,
    `mv -f "$t" ${p}`,
    "trap - EXIT",
  ].join("\n");
  const r = await host.exec(script, { stdin: content, timeoutSec: 600 });
  if (r.code !== 0) throw new CommandError(host.name, `write ${path}`, r.code, r.stderr);
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Whether the probed owner/group match the wanted ones, given as names or numeric ids. */
export function ownerMatches(seen: RemoteFile, owner?: string, group?: string): boolean {
  const same = (want: string | undefined, name?: string, id?: string) =>
    want === undefined || want === name || want === id;
  return same(owner, seen.owner, seen.uid) && same(group, seen.group, seen.gid);
}

/** `owner`, `owner:group` or `:group`, as chown takes them. */
export const chownArg = (owner?: string, group?: string) => `${owner ?? ""}${group ? ":" + group : ""}`;

/** Mode and owner fixes of an existing path, as the file and copy modules plan them. */
export type MetaAction = { kind: "chmod"; was: string } | { kind: "chown"; was: string; now: string };

export function metaActions(
  seen: RemoteFile,
  p: { mode?: string; owner?: string; group?: string },
): MetaAction[] {
  const actions: MetaAction[] = [];
  if (p.mode && seen.mode !== p.mode.padStart(4, "0")) actions.push({ kind: "chmod", was: seen.mode ?? "" });
  if (!ownerMatches(seen, p.owner, p.group))
    actions.push({
      kind: "chown",
      was: `${seen.owner}:${seen.group}`,
      now: `${p.owner ?? seen.owner}:${p.group ?? seen.group}`,
    });
  return actions;
}
