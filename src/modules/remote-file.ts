/**
 * Reading and writing whole files on a host: the probe snippet that reports a file's type, mode, owner
 * and content, and the atomic write (temp file in the same directory, then rename) every module that
 * edits a file goes through, so a node never sees a half-written fstab or exports file.
 */
import { CommandError } from "../transport/errors.js";
import { shq, type Host } from "../transport/host.js";

export interface RemoteFile {
  exists: boolean;
  /** `regular file`, `directory`, `symbolic link`... as `stat %F` says. */
  kind?: string;
  mode?: string;
  owner?: string;
  group?: string;
  uid?: string;
  gid?: string;
  /** Content of a regular file up to 1 MiB (undefined for larger ones). */
  content?: string;
}

const MAX_CONTENT = 1024 * 1024;

export function probeFileCommand(path: string): string {
  const p = shq(path);
  return `if [ -e ${p} ] || [ -L ${p} ]; then stat -c '%F|%a|%U|%G|%u|%g' ${p}; if [ -f ${p} ] && [ $(stat -c %s ${p}) -le ${MAX_CONTENT} ]; then base64 -w0 ${p}; fi; else echo MISSING; fi`;
}

export function parseFileProbe(stdout: string): RemoteFile {
  const [head = "", body] = stdout.split("\n");
  if (head.trim() === "MISSING" || head.trim() === "") return { exists: false };
  const [kind, mode, owner, group, uid, gid] = head.split("|");
  return {
    exists: true,
    kind,
    mode: mode?.padStart(4, "0"),
    owner,
    group,
    uid,
    gid,
    content:
      body !== undefined && kind === "regular file"
        ? Buffer.from(body.trim(), "base64").toString("utf8")
        : undefined,
  };
}

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
      ? `chown ${shq(`${opts.owner ?? ""}${opts.group ? ":" + opts.group : ""}`)} "$t"`
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
