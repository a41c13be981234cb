/**
 * Write a secret file so that a crash, a full disk or a concurrent reader never sees half of it, and
 * nobody else can read it: a 0600 temp file in the same directory (so rename is atomic), fsync, rename.
 * The temp file is `.<name>.<pid>-<random>.tmp`; one left by a killed writer (its process gone) is removed
 * by the next write of the same file.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import {
  chmod,
  chown,
  link,
  lstat,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  stat,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ExitCode, InputError, PowerstackError } from "../errors.js";

export const SECRET_FILE_MODE = 0o600;

export interface AtomicWriteOptions {
  /** Refuse to replace an existing file (checked atomically with a hard link where the filesystem has them). */
  noClobber?: boolean;
  /**
   * Replace the file only if it still holds exactly this (what was read before a long edit): checked after
   * the new content is safely on disk, just before the rename. Otherwise a ChangedMeanwhileError.
   */
  unchangedSince?: string | Buffer;
}

/** The file was changed (or removed) by someone else since it was read; it was left as it is now. */
export class ChangedMeanwhileError extends PowerstackError {
  constructor(readonly path: string) {
    super(
      `${path} changed since it was read; it was not overwritten`,
      ExitCode.failed,
      "run the command again: it will work on the file as it is now",
    );
  }
}

/** Our temp files for `base`: `.<base>.<pid>-<12 hex>.tmp`, and `.<base>.<12 hex>.tmp` from older versions. */
function tempPattern(base: string): RegExp {
  return new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(?:(\\d+)-)?[0-9a-f]{12}\\.tmp$`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** An old-format temp file (no pid in its name) counts as stale once this old: no write takes that long. */
const UNNAMED_TEMP_STALE_MS = 10 * 60_000;

/**
 * Remove temp files a killed writer of `target` left (a `rekey` killed before its rename). One whose writer
 * is still running (a concurrent write) is left alone. Best effort: returns the names removed.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = dirname(target);
  const re = tempPattern(basename(target));
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = m[1] === undefined ? undefined : Number(m[1]);
    const path = join(dir, name);
    if (pid !== undefined) {
      if (pid === process.pid || processAlive(pid)) continue;
    } else {
      const info = await lstat(path).catch(() => undefined);
      if (!info || Date.now() - info.mtimeMs < UNNAMED_TEMP_STALE_MS) continue;
    }
    const info = await lstat(path).catch(() => undefined);
    // Only plain files we could have written; never follow a link someone planted.
    if (!info?.isFile()) continue;
    if (
      await unlink(path).then(
        () => true,
        () => false,
      )
    )
      removed.push(name);
  }
  return removed;
}

export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  // Follow a symlink like ansible-vault does: replace its target, not the link.
  const target = await realpath(path).catch(() => path);
  const previous = await stat(target).catch(() => undefined);
  if (opts.noClobber && previous) throw exists(path);

  await removeStaleTemps(target);
  const tmp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`,
  );
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, SECRET_FILE_MODE);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The umask can only narrow 0600, but be exact: the contract is 0600.
    await chmod(tmp, SECRET_FILE_MODE);
    // Root editing someone else's vault must not hand it over to root.
    if (previous && process.getuid?.() === 0)
      await chown(tmp, previous.uid, previous.gid).catch(() => undefined);

    if (opts.unchangedSince !== undefined) {
      const now = await readFile(target).catch(() => undefined);
      const expected = Buffer.from(opts.unchangedSince);
      if (!now || !now.equals(expected)) throw new ChangedMeanwhileError(path);
    }
    if (opts.noClobber) await linkNoClobber(tmp, target, path);
    else await rename(tmp, target);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dirname(target));
}

/** link(2) fails with EEXIST instead of replacing, so "create unless it exists" has no race. */
async function linkNoClobber(tmp: string, target: string, shownPath: string): Promise<void> {
  try {
    await link(tmp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw exists(shownPath);
    // Filesystems without hard links (vfat, some FUSE): fall back to check-then-rename.
    if (
      await lstat(target).then(
        () => true,
        () => false,
      )
    )
      throw exists(shownPath);
    await rename(tmp, target);
  }
}

/** Make the rename durable; best effort, since not every filesystem lets a directory be fsynced. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY).catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

function exists(path: string): InputError {
  return new InputError(
    `${path} already exists; refusing to overwrite it`,
    `edit it with \`powerstack vault edit ${path}\`, or choose another file name`,
  );
}
