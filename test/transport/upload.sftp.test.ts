/**
 * uploadIfChanged over REAL SFTP: a real OpenSSH sshd on loopback (test/support/sshd.ts, root login),
 * our SshHost's one ssh2 connection. Proves: the first upload sends and the node's file has the right
 * sha256, mode and owner; a second call sends nothing (a cheap record check, no hashing on the node);
 * a changed local file is sent again; progress counts increase and end at the total; the staging file
 * never remains (also when the transfer or the check fails); and the stdin fallback for a node without
 * SFTP lands the same bytes. Also measures SFTP against the stdin path for a 50 MB file (logged).
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Host, PutFileOptions } from "../../src/transport/host.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import {
  progressLines,
  recordPath,
  STAGING_DIR,
  STAGING_PREFIX,
  uploadIfChanged,
} from "../../src/transport/upload.js";
import { startSshd, type Sshd } from "../support/sshd.js";

let sshd: Sshd;
let host: SshHost;
const tmp = mkdtempSync(join(tmpdir(), "powerstack-upload-"));
const local = join(tmp, "local");
const remoteDir = join(tmp, "node");
const records = join(tmp, "records");

/**
 * test/support/sshd.ts configures no `Subsystem sftp` (Debian's sshd_config has one). Add it and send
 * SIGHUP: sshd re-executes itself with the same arguments and rereads its configuration.
 */
async function enableSftp(s: Sshd): Promise<void> {
  appendFileSync(join(s.dir, "sshd_config"), "Subsystem sftp internal-sftp\n");
  const pid = Number(readFileSync(join(s.dir, "sshd.pid"), "utf8").trim());
  process.kill(pid, "SIGHUP");
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      execFileSync("ssh-keyscan", ["-p", String(s.port), "127.0.0.1"], { stdio: "pipe", timeout: 2000 });
      return;
    } catch {
      /* not listening again yet */
    }
  }
  throw new Error("sshd did not come back after SIGHUP");
}

beforeAll(async () => {
  sshd = await startSshd();
  await enableSftp(sshd);
  host = await SshHost.connect({ name: "loop", address: "127.0.0.1", port: sshd.port }, sshd.settings());
});
afterAll(async () => {
  await host?.close();
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The host, with every staging path it was asked to write recorded (to prove none remains). */
function watched(h: Host): { host: Host; staged: string[]; puts: () => number } {
  const staged: string[] = [];
  const wrapped: Host = {
    name: h.name,
    exec: (c, o) => h.exec(c, o),
    close: () => h.close(),
    putFile: async (l: string, r: string, o?: PutFileOptions) => {
      staged.push(r);
      return h.putFile!(l, r, o);
    },
  };
  return { host: wrapped, staged, puts: () => staged.length };
}

const stagingLeft = () =>
  execFileSync("sh", [
    "-c",
    `ls -a ${STAGING_DIR} | grep -c '^${STAGING_PREFIX.replace(/\./g, "\\.")}' || true`,
  ])
    .toString()
    .trim();

describe("uploadIfChanged over real SFTP (sshd on loopback)", () => {
  test("first upload sends: the node's file has the sha256, mode and owner asked for; nothing is staged after", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(local, data);
    const remote = join(remoteDir, "sub", "artifact.bin");
    const w = watched(host);
    const before = stagingLeft();
    const sent = await uploadIfChanged(w.host, local, remote, { mode: "0750", recordsDir: records });
    expect(sent).toBe(true);
    expect(w.puts()).toBe(1);
    expect(w.staged[0]).toMatch(new RegExp(`^${STAGING_DIR}/\\.powerstack-upload\\.`));
    expect(existsSync(w.staged[0]!)).toBe(false);
    expect(stagingLeft()).toBe(before);
    expect(sha(readFileSync(remote))).toBe(sha(data));
    const st = statSync(remote);
    expect((st.mode & 0o777).toString(8)).toBe("750");
    expect(st.uid).toBe(0);
    // The record: verified digest, size and mtime of the file in place.
    expect(readFileSync(recordPath(remote, records), "utf8")).toBe(
      `${sha(data)} ${st.size} ${Math.floor(st.mtimeMs / 1000)}\n`,
    );
  });

  test("a second call sends nothing; a changed local file is sent again; a replaced node file is repaired", async () => {
    const remote = join(remoteDir, "again.bin");
    writeFileSync(local, randomBytes(100_000));
    await uploadIfChanged(host, local, remote, { recordsDir: records });
    const w = watched(host);
    expect(await uploadIfChanged(w.host, local, remote, { recordsDir: records })).toBe(false);
    expect(w.puts()).toBe(0);

    const changed = randomBytes(100_001);
    writeFileSync(local, changed);
    expect(await uploadIfChanged(w.host, local, remote, { recordsDir: records })).toBe(true);
    expect(w.puts()).toBe(1);
    expect(sha(readFileSync(remote))).toBe(sha(changed));

    // Someone replaced the node's copy (other size): the record no longer matches, so it is sent again.
    writeFileSync(remote, "tampered");
    expect(await uploadIfChanged(w.host, local, remote, { recordsDir: records })).toBe(true);
    expect(sha(readFileSync(remote))).toBe(sha(changed));
    expect(await uploadIfChanged(w.host, local, remote, { recordsDir: records })).toBe(false);
  });

  test("progress: increasing byte counts ending at the total", async () => {
    const data = randomBytes(8 * 1024 * 1024);
    writeFileSync(local, data);
    const seen: Array<[number, number]> = [];
    await uploadIfChanged(host, local, join(remoteDir, "progress.bin"), {
      recordsDir: records,
      onProgress: (s, t) => seen.push([s, t]),
    });
    expect(seen.length).toBeGreaterThan(10); // chunked: 32 KiB each, not one call at the end
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThan(seen[i - 1]![0]);
    expect(seen.every(([, t]) => t === data.length)).toBe(true);
    expect(seen.at(-1)).toEqual([data.length, data.length]);
  });

  test("a checksum that does not match the local file refuses before anything is sent", async () => {
    writeFileSync(local, "good bytes");
    const w = watched(host);
    const remote = join(remoteDir, "refused.bin");
    await expect(
      uploadIfChanged(w.host, local, remote, { sha256: "0".repeat(64), recordsDir: records }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/has sha256 [0-9a-f]{64}, but the checksum file says 0{64}/),
    });
    expect(w.puts()).toBe(0);
    expect(existsSync(remote)).toBe(false);
  });

  test("a transfer that fails on the node leaves no staging file and no half-written destination", async () => {
    writeFileSync(local, randomBytes(50_000));
    // The destination's directory cannot be created (a regular file is in the way).
    writeFileSync(join(tmp, "blocker"), "x");
    const w = watched(host);
    await expect(
      uploadIfChanged(w.host, local, join(tmp, "blocker", "x.bin"), { recordsDir: records }),
    ).rejects.toThrow(/upload local to .*blocker\/x.bin/);
    expect(w.puts()).toBe(1);
    expect(existsSync(w.staged[0]!)).toBe(false);
  });

  test("a node without SFTP gets the same bytes on stdin, checked and recorded the same way", async () => {
    const data = randomBytes(200_000);
    writeFileSync(local, data);
    const noSftp: Host = { name: "loop", exec: (c, o) => host.exec(c, o), close: async () => {} };
    const remote = join(remoteDir, "stdin.bin");
    const seen: number[] = [];
    expect(
      await uploadIfChanged(noSftp, local, remote, { recordsDir: records, onProgress: (s) => seen.push(s) }),
    ).toBe(true);
    expect(sha(readFileSync(remote))).toBe(sha(data));
    expect(seen).toEqual([data.length]);
    expect(await uploadIfChanged(host, local, remote, { recordsDir: records })).toBe(false);
  });

  test(
    "measured: 50 MiB over SFTP vs the stdin path, same connection, same checks (logged, not asserted)",
    { timeout: 120_000 },
    async () => {
      const data = randomBytes(50 * 1024 * 1024);
      writeFileSync(local, data);
      const noSftp: Host = { name: "loop", exec: (c, o) => host.exec(c, o), close: async () => {} };
      const time = async (f: () => Promise<unknown>) => {
        const t = performance.now();
        await f();
        return performance.now() - t;
      };
      const rate = (ms: number) => `${ms.toFixed(0)} ms (${(50 / (ms / 1000)).toFixed(0)} MiB/s)`;
      const peakMiB = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);
      const sftp: number[][] = [];
      const stdin: number[][] = [];
      // SFTP first: the peak RSS after it shows what streaming costs, before the stdin path buffers the file.
      for (let round = 1; round <= 2; round++)
        sftp.push([
          await time(() => host.putFile(local, join(remoteDir, `raw-sftp-${round}`))),
          await time(() =>
            uploadIfChanged(host, local, join(remoteDir, `full-sftp-${round}`), { recordsDir: records }),
          ),
        ]);
      const peakAfterSftp = peakMiB();
      for (let round = 1; round <= 2; round++)
        stdin.push([
          await time(() =>
            host.exec(`cat > ${join(remoteDir, `raw-stdin-${round}`)}`, { stdin: readFileSync(local) }),
          ),
          await time(() =>
            uploadIfChanged(noSftp, local, join(remoteDir, `full-stdin-${round}`), { recordsDir: records }),
          ),
        ]);
      const rows = [0, 1].map(
        (i) =>
          `round ${i + 1}: transfer only: SFTP ${rate(sftp[i]![0]!)}, stdin ${rate(stdin[i]![0]!)}; ` +
          `uploadIfChanged (record check, staging, node-side sha256, record): SFTP ${rate(sftp[i]![1]!)}, stdin ${rate(stdin[i]![1]!)}`,
      );
      rows.push(
        `peak RSS of the test process: ${peakAfterSftp} MiB after the SFTP uploads, ${peakMiB()} MiB after the stdin ones`,
      );
      expect(sha(readFileSync(join(remoteDir, "full-sftp-2")))).toBe(sha(data));
      console.log(`50 MiB on loopback:\n  ${rows.join("\n  ")}`);
    },
  );
});

describe("fallbacks and progress lines", () => {
  test("a real sshd without an sftp subsystem: the upload falls back to stdin and still lands, checked", async () => {
    const plain = await startSshd(); // test/support/sshd.ts as is: no Subsystem sftp
    const h = await SshHost.connect(
      { name: "plain", address: "127.0.0.1", port: plain.port },
      plain.settings(),
    );
    try {
      const data = randomBytes(300_000);
      writeFileSync(local, data);
      const remote = join(remoteDir, "no-sftp.bin");
      const seen: number[] = [];
      expect(
        await uploadIfChanged(h, local, remote, { recordsDir: records, onProgress: (s) => seen.push(s) }),
      ).toBe(true);
      expect(sha(readFileSync(remote))).toBe(sha(data));
      expect(seen).toEqual([data.length]);
      expect(await uploadIfChanged(h, local, remote, { recordsDir: records })).toBe(false);
    } finally {
      await h.close();
      await plain.stop();
    }
  });

  test("progress to the task (ApplyContext.progress): none for small files; large ones at most every interval, always the final 100%", () => {
    const lines: string[] = [];
    const report = (l: string) => lines.push(l);
    let t = 0;
    const small = progressLines("install.sh", report, 2000, () => t);
    small(1000, 1000);
    expect(lines).toEqual([]);
    const MiB = 1024 * 1024;
    const big = progressLines("k3s-airgap-images-arm64.tar.zst", report, 2000, () => t);
    for (let sent = 0; sent <= 100 * MiB; sent += 4 * MiB) {
      t += 100; // 40 MiB/s
      big(Math.min(sent + 4 * MiB, 100 * MiB), 100 * MiB);
    }
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(lines[0]).toMatch(
      /^upload k3s-airgap-images-arm64.tar.zst: \d+\.\d of 100.0 MiB \(\d+%, \d+\.\d MiB\/s\)$/,
    );
    expect(lines.at(-1)).toMatch(
      /^upload k3s-airgap-images-arm64.tar.zst: 100.0 of 100.0 MiB \(100%, \d+\.\d MiB\/s\)$/,
    );
    big(100 * MiB, 100 * MiB); // a repeated final report says nothing more
    expect(lines.filter((l) => l.includes("100%"))).toHaveLength(1);
    // A module run without a progress listener (tests, check of a single module) gets a no-op.
    expect(() => progressLines("x", undefined)(100 * MiB, 100 * MiB)).not.toThrow();
  });
});
