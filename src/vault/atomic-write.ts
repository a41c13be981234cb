/**
 * Write a secret file so that a crash, a full disk or a concurrent reader never sees half of it, and
 * nobody else can read it: a 0600 temp file in the same directory (so rename is atomic), fsync, rename.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, chown, link, lstat, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InputError } from "../errors.js";

export const SECRET_FILE_MODE = 0o600;

export interface AtomicWriteOptions {
  /** Refuse to replace an existing file (checked atomically with a hard link where the filesystem has them). */
  noClobber?: boolean;
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

  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
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
