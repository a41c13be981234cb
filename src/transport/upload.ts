/**
 * Large files (air-gap artifacts: the K3s binary, its images tarball, Helm) onto a node: sent only when
 * the node's copy differs, checked on the node after the transfer, never half-written in place.
 *
 * How a file travels: over SFTP on the host's existing SSH connection (Host.putFile; ssh2's fastPut keeps
 * many chunks in flight and reports progress) into a private staging file the LOGIN user owns (random
 * name, created exclusively with mode 0600, in /var/tmp: on disk, not a small tmpfs), then, as root, moved next to its destination, given its
 * mode and owner, checked with sha256sum, and renamed over the destination. A host without SFTP (test
 * doubles, a node whose sshd has no sftp subsystem) gets the content on stdin of the same root script.
 * The staging and temporary files are removed on every failure path that reaches the node.
 *
 * Why a record instead of hashing the node's copy: a no-op rerun must stay one cheap round trip, and
 * sha256 of a 200 MB images tarball costs about a second of disk and CPU per node on every run. After a
 * VERIFIED transfer we write `<sha256> <size> <mtime>` to /var/lib/powerstack/artifacts/<path>.sha256;
 * the check compares that record with the file's current size and mtime (one `stat`). A file replaced,
 * truncated or touched since no longer matches its record and is sent again; a transfer that failed
 * half-way never wrote a record, so it never looks complete. What the record cannot see is an in-place
 * edit that keeps size and mtime: that takes deliberate effort on a root-owned file, and is out of scope.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { InputError } from "../errors.js";
import { CommandError } from "./errors.js";
import { run } from "./run.js";
import { SftpUnavailableError, shq, type Host } from "./host.js";

export interface UploadOptions {
  /** The sha256 the file must have (from the release's checksum file); computed locally when absent. */
  sha256?: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** Called as bytes go out (large files): sent so far, total. */
  onProgress?: (sent: number, total: number) => void;
  /** Where the verified digest is recorded (default ARTIFACT_RECORDS; tests use a temp dir). */
  recordsDir?: string;
}

/** Where verified digests of uploaded files are recorded on the node. */
export const ARTIFACT_RECORDS = "/var/lib/powerstack/artifacts";
/** Where the login user stages a transfer (disk-backed and world-writable with the sticky bit on Debian). */
export const STAGING_DIR = "/var/tmp";
export const STAGING_PREFIX = ".powerstack-upload.";

/** The record of one destination path: `/usr/local/bin/k3s` -> `.../artifacts/usr_local_bin_k3s.sha256`. */
export function recordPath(remote: string, recordsDir = ARTIFACT_RECORDS): string {
  return `${recordsDir}/${remote.replace(/^\/+/, "").replace(/\//g, "_")}.sha256`;
}

/**
 * Read-only snippet printing the recorded sha256 of `remote` when the record still matches the file's
 * size and mtime, and nothing otherwise. Cheap (a `stat` and a small read): usable in a batched probe.
 */
export function recordedDigestCommand(remote: string, recordsDir = ARTIFACT_RECORDS): string {
  const f = shq(remote);
  const r = shq(recordPath(remote, recordsDir));
  return `if [ -f ${f} ] && [ -f ${r} ]; then read -r d s m < ${r}; [ "$s $m" = "$(stat -c '%s %Y' ${f})" ] && echo "$d"; fi; true`;
}

/** sha256 of a local file, streamed (no 200 MB buffer), remembered per path, size and mtime for the run. */
const localDigests = new Map<string, string>();
export async function localSha256(path: string): Promise<string> {
  const st = statSync(path);
  const key = `${path}\0${st.size}\0${st.mtimeMs}`;
  const known = localDigests.get(key);
  if (known) return known;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest("hex");
  localDigests.set(key, digest);
  return digest;
}

/** Refuse a local file that does not match its checksum, before anything is sent. */
export async function verifyLocal(path: string, sha256: string): Promise<void> {
  const actual = await localSha256(path);
  if (actual !== sha256)
    throw new InputError(
      `${path} has sha256 ${actual}, but the checksum file says ${sha256}`,
      "download it again from the same release; a file that fails its checksum is never installed",
    );
}

/** Upload `local` to `remote` unless the node already has it (same sha256). True when it was sent. */
export async function uploadIfChanged(
  host: Host,
  local: string,
  remote: string,
  opts: UploadOptions = {},
): Promise<boolean> {
  const want = (opts.sha256 ?? (await localSha256(local))).toLowerCase();
  // It goes into a shell line on the node: a digest, and nothing else.
  if (!/^[0-9a-f]{64}$/.test(want))
    throw new InputError(`${local}: \`${want}\` is not a sha256`, "check the checksum file");
  const have = (await run(host, recordedDigestCommand(remote, opts.recordsDir))).trim();
  if (have === want) return false;
  if (opts.sha256) await verifyLocal(local, opts.sha256);
  await sendVerified(host, local, remote, want, opts);
  return true;
}

/** Send `local` (whose sha256 is `want`) to `remote`, check it on the node, then record it. */
export async function sendVerified(
  host: Host,
  local: string,
  remote: string,
  want: string,
  opts: UploadOptions = {},
): Promise<void> {
  const total = statSync(local).size;
  let staging: string | undefined;
  if (host.putFile) {
    // Random name, created exclusively with mode 0600 by putFile: mktemp's guarantees, no extra round trip.
    staging = `${STAGING_DIR}/${STAGING_PREFIX}${randomBytes(9).toString("base64url")}`;
    try {
      await host.putFile(local, staging, { onProgress: opts.onProgress });
    } catch (err) {
      await host.exec(`rm -f ${shq(staging)}`, { become: false }).catch(() => undefined);
      if (!(err instanceof SftpUnavailableError)) throw err;
      staging = undefined; // no SFTP on this node: the same script, content on stdin
    }
  }
  const r = await host.exec(installScript(remote, want, staging, opts), {
    stdin: staging === undefined ? readFileSync(local) : undefined,
    timeoutSec: 900,
  });
  if (r.code !== 0)
    throw new CommandError(host.name, `upload ${basename(local)} to ${remote}`, r.code, r.stderr);
  if (staging === undefined) opts.onProgress?.(total, total);
}

/**
 * Root side of an upload: staging file (or stdin) -> temp file beside the destination -> mode, owner ->
 * sha256 check of that copy -> rename over the destination -> record. A failed check leaves the node's
 * previous file and record untouched; the trap removes staging and temp files on any failure.
 */
export function installScript(
  remote: string,
  sha256: string,
  staging: string | undefined,
  opts: UploadOptions,
) {
  const dir = remote.replace(/\/[^/]+$/, "") || "/";
  const owner = `${opts.owner ?? "root"}:${opts.group ?? "root"}`;
  const records = opts.recordsDir ?? ARTIFACT_RECORDS;
  const rec = recordPath(remote, records);
  return [
    "set -e",
    `s=${staging === undefined ? "" : shq(staging)}`,
    "t=",
    `trap 'rm -f \${s:+"$s"} \${t:+"$t" "$t.rec"}' EXIT`,
    `mkdir -p ${shq(dir)} ${shq(records)}`,
    `t=$(mktemp ${shq(`${dir}/.powerstack.`)}XXXXXX)`,
    staging === undefined ? `cat > "$t"` : `mv -f "$s" "$t"`,
    `chmod ${shq(opts.mode ?? "0644")} "$t"`,
    `chown ${shq(owner)} "$t"`,
    `echo "${sha256}  $t" | sha256sum -c --quiet - >&2 || { echo ${shq(`sha256 of ${remote} on the node is not ${sha256}: the transfer was corrupted`)} >&2; exit 1; }`,
    `mv -f "$t" ${shq(remote)}`,
    `printf '%s %s\\n' ${shq(sha256)} "$(stat -c '%s %Y' ${shq(remote)})" > "$t.rec"`,
    `mv -f "$t.rec" ${shq(rec)}`,
    "trap - EXIT",
  ].join("\n");
}

const MiB = 1024 * 1024;

/**
 * An onProgress for a large file (>= 8 MiB; smaller ones are over before anyone reads a number) that
 * tells `report` (the task's ApplyContext.progress: the terminal's task line, plain lines, the run log)
 * how far it is: at most once every `everyMs`, and once when the transfer completes.
 */
export function progressLines(
  label: string,
  report: ((text: string) => void) | undefined,
  everyMs = 2000,
  now: () => number = Date.now,
): (sent: number, total: number) => void {
  if (!report) return () => {};
  const started = now();
  let last = started;
  let done = false;
  return (sent, total) => {
    if (total < 8 * MiB || done) return;
    const t = now();
    if (sent < total && t - last < everyMs) return;
    last = t;
    done = sent >= total;
    const rate = sent / MiB / Math.max((t - started) / 1000, 0.001);
    report(
      `upload ${label}: ${(sent / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB (${((100 * sent) / total).toFixed(0)}%, ${rate.toFixed(1)} MiB/s)`,
    );
  };
}
