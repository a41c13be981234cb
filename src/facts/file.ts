/**
 * A file on the node: type, mode, owner and (for a regular file up to 1 MiB) its content. Read by every
 * module that writes or edits a file, and by `verify` (fstab).
 */
import { defineFact, requireSuccess, type Touch } from "../engine/fact.js";
import { dirState, unit } from "./system.js";
import { shq } from "../transport/host.js";

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

export function fileCommand(path: string): string {
  const p = shq(path);
  // `|| exit`: a stat or read that fails (permissions, I/O) is a failed read, never "missing".
  return `if [ -e ${p} ] || [ -L ${p} ]; then stat -c '%F|%a|%U|%G|%u|%g' ${p} || exit 1; if [ -f ${p} ] && [ $(stat -c %s ${p}) -le ${MAX_CONTENT} ]; then base64 -w0 ${p} || exit 1; fi; else echo MISSING; fi`;
}

export function parseFile(stdout: string): RemoteFile {
  const [head = "", body] = stdout.split("\n");
  if (head.trim() === "MISSING") return { exists: false };
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

export const file = defineFact<RemoteFile, string>({
  name: "file",
  key: (path) => path,
  command: fileCommand,
  parse(out, path) {
    requireSuccess("file", path, out);
    if (out.stdout.trim() === "") requireSuccess("file", path, { ...out, code: -1 });
    return parseFile(out.stdout);
  },
});

/**
 * What writing a file changes besides the file itself: systemd reads unit files and drop-ins (a unit's
 * LoadState and NeedDaemonReload move with them), and a directory that was empty no longer is.
 */
export const afterWriting = (path: string): Touch[] => [file.of(path), unit, dirState];
