/**
 * Large files (air-gap artifacts: the K3s binary, its images tarball, Helm, chart archives) onto a node:
 * sent only when the node's copy has another sha256, and checked after the transfer.
 *
 * STUB (interface fixed, transport to be replaced by SFTP on the host's existing connection): today the
 * content goes through `writeFileAtomic` on stdin.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../modules/remote-file.js";
import { run } from "./run.js";
import { shq, type Host } from "./host.js";

export interface UploadOptions {
  /** The sha256 the file must have (from the release's checksum file); computed locally when absent. */
  sha256?: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** Called as bytes go out (large files): sent so far, total. */
  onProgress?: (sent: number, total: number) => void;
}

/** Upload `local` to `remote` unless the node already has it (same sha256). True when it was sent. */
export async function uploadIfChanged(
  host: Host,
  local: string,
  remote: string,
  opts: UploadOptions = {},
): Promise<boolean> {
  const data = readFileSync(local);
  const want = opts.sha256 ?? (await import("node:crypto")).createHash("sha256").update(data).digest("hex");
  const have = (await host.exec(`sha256sum ${shq(remote)} 2>/dev/null | cut -d' ' -f1`)).stdout.trim();
  if (have === want) return false;
  await writeFileAtomic(host, remote, data, {
    mode: opts.mode ?? "0644",
    owner: opts.owner,
    group: opts.group,
  });
  opts.onProgress?.(data.length, data.length);
  await run(host, `echo ${shq(`${want}  ${remote}`)} | sha256sum -c --quiet -`);
  return true;
}
