/**
 * The NFS round trip: a file with a random name and random content written through a worker's mount must
 * be readable on the control node's data path, byte for byte; then it is removed (from both sides, even
 * when a step fails, so a failed check leaves nothing behind).
 *
 * The content travels on stdin, never in a command line. The NFS client flushes a file when it is closed
 * (close-to-open consistency), so the server's filesystem has it as soon as the worker's write returns;
 * the few retries only absorb a slow server, not caching.
 */
import { randomBytes } from "node:crypto";
import { shq, type Host } from "../transport/host.js";
import { fail, pass, type Verdict } from "./check.js";

export interface RoundTripOptions {
  /** Attempts to read on the control node before giving up. */
  reads?: number;
  readDelayMs?: number;
  /** Bound of each remote command, on the host. */
  timeoutSec?: number;
}

/** A hidden, recognisable name: anyone finding a leftover knows what made it. */
export function probeFileName(): string {
  return `.powerstack-verify-${randomBytes(6).toString("hex")}`;
}

export async function nfsRoundTrip(
  worker: Host,
  control: Host,
  dataPath: string,
  opts: RoundTripOptions = {},
): Promise<Verdict> {
  const { reads = 5, readDelayMs = 200, timeoutSec = 20 } = opts;
  const name = probeFileName();
  const path = `${dataPath.replace(/\/+$/, "")}/${name}`;
  const token = randomBytes(16).toString("hex");
  const started = Date.now();
  let clean = false;
  try {
    const write = await worker.exec(`cat > ${shq(path)}`, { stdin: token, timeoutSec });
    if (write.code !== 0) {
      return fail(
        `${worker.name} cannot write ${path} on its NFS mount: ${write.stderr.trim() || `exit ${write.code}`}`,
        `check the export's options on ${control.name} (rw, no_root_squash: \`exportfs -v\`) and the mount on ${worker.name} (\`findmnt ${dataPath}\`)`,
      );
    }
    let seen = "";
    for (let i = 0; i < reads; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, readDelayMs));
      const read = await control.exec(`cat ${shq(path)} 2>/dev/null || true`, { timeoutSec });
      seen = read.stdout;
      if (seen === token) break;
    }
    if (seen !== token) {
      return fail(
        seen === ""
          ? `${worker.name} wrote ${path}, but ${control.name} does not see it at ${dataPath}`
          : `${worker.name} wrote ${path}, but ${control.name} reads other content there`,
        `${worker.name} has something else mounted at ${dataPath} than ${control.name}'s data path: compare \`findmnt ${dataPath}\` on both, and the export (\`exportfs -v\`) on ${control.name}`,
      );
    }
    const ms = Date.now() - started;
    const removed = await worker.exec(`rm -f ${shq(path)}`, { timeoutSec });
    if (removed.code !== 0) {
      return fail(
        `written on ${worker.name} and seen on ${control.name}, but not removed: ${removed.stderr.trim()}`,
        `remove ${path} on ${control.name} by hand`,
      );
    }
    const gone = await control.exec(`test ! -e ${shq(path)}`, { timeoutSec });
    clean = gone.code === 0;
    if (!clean) {
      return fail(
        `removed on ${worker.name}, but ${path} is still on ${control.name}`,
        `${worker.name}'s mount is not ${control.name}'s data path, or NFS is caching deletes: compare \`findmnt ${dataPath}\` on both`,
      );
    }
    return pass(`written on ${worker.name}, read back on ${control.name} in ${ms} ms, removed`);
  } finally {
    // Whatever went wrong above: leave no probe file. Errors here must not mask the verdict.
    if (!clean)
      await Promise.allSettled([
        worker.exec(`rm -f ${shq(path)}`, { timeoutSec }),
        control.exec(`rm -f ${shq(path)}`, { timeoutSec }),
      ]);
  }
}
