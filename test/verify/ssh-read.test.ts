/**
 * The node side of verify over a REAL sshd on loopback: the node's facts are read through its FactCache
 * in one command and are what the machine really has (compared with local reads of the same files), and the NFS round
 * trip writes, reads back and removes its probe file, in a temp dir standing in for the data path (no
 * system path is written). The decisions over the read text are tested in node-checks.test.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecOptions, ExecResult, Host } from "../../src/transport/host.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { checkDataMount, checkParanoid } from "../../src/verify/node-checks.js";
import { FactCache } from "../../src/engine/fact-cache.js";
import { readNodeFacts } from "../../src/verify/node-facts.js";
import { nfsRoundTrip } from "../../src/verify/nfs-round-trip.js";
import { RecordingHost } from "../support/recording-host.js";
import { startSshd, type Sshd } from "../support/sshd.js";

/** A Host that passes through and remembers each command and its stdin. */
class Spy implements Host {
  readonly sent: Array<{ command: string; stdin?: string }> = [];
  constructor(private readonly inner: Host) {}
  get name() {
    return this.inner.name;
  }
  exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    this.sent.push({ command, stdin: opts?.stdin?.toString() });
    return this.inner.exec(command, opts);
  }
  close() {
    return this.inner.close();
  }
}

let sshd: Sshd;
let ctl: SshHost;
let w1: SshHost;
const dir = mkdtempSync(join(tmpdir(), "powerstack-verify-data-"));

beforeAll(async () => {
  sshd = await startSshd();
  const connect = (name: string) =>
    SshHost.connect({ name, address: "127.0.0.1", port: sshd.port }, sshd.settings());
  [ctl, w1] = await Promise.all([connect("ctl"), connect("w1")]);
});

afterAll(async () => {
  await Promise.allSettled([ctl?.close(), w1?.close()]);
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the batched read over SSH", () => {
  it("reads every fact in one command, and reads what the machine has", async () => {
    const spy = new Spy(ctl);
    const facts = await readNodeFacts(new FactCache(spy), "control", "/");
    expect(spy.sent).toHaveLength(1);
    expect(Object.keys(facts).sort()).toEqual(["exports", "fstab", "mount", "paranoid", "unit", "uuid"]);

    const live = readFileSync("/proc/sys/kernel/perf_event_paranoid", "utf8").trim();
    expect(facts.paranoid).toEqual({ value: live });
    expect(checkParanoid(facts, Number(live), "ctl").status).toBe("pass");
    expect(facts.fstab).toMatchObject({ value: { exists: true } });
    const fstab = (facts.fstab as { value: { content?: string } }).value.content;
    expect(fstab?.trim()).toBe(readFileSync("/etc/fstab", "utf8").trim());
    const local = execFileSync("findmnt", ["-n", "-o", "SOURCE,FSTYPE", "--mountpoint", "/"])
      .toString()
      .trim()
      .split(/\s+/);
    expect(facts.mount).toMatchObject({ value: { source: local[0], fstype: local[1] } });
  });

  it("on a worker reads no export table and no UUID; a plain directory is reported as not mounted", async () => {
    const facts = await readNodeFacts(new FactCache(w1), "worker", dir);
    expect(Object.keys(facts).sort()).toEqual(["fstab", "mount", "paranoid", "unit"]);
    expect(facts.mount).toEqual({ value: undefined });
    const control = await readNodeFacts(new FactCache(ctl), "control", dir);
    expect(control.uuid).toEqual({ value: undefined });
    expect(checkDataMount(control, dir, "ctl")).toMatchObject({ status: "fail" });
    expect(checkDataMount(control, dir, "ctl").detail).toMatch(new RegExp(`^nothing is mounted at ${dir}`));
  });
});

describe("the NFS round trip over SSH", () => {
  it("writes a random file on the worker (content on stdin), reads it on the control node, removes it", async () => {
    const worker = new Spy(w1);
    const control = new Spy(ctl);
    const r = await nfsRoundTrip(worker, control, dir);
    expect(r.status).toBe("pass");
    expect(r.detail).toMatch(/^written on w1, read back on ctl in \d+ ms, removed$/);
    expect(readdirSync(dir)).toEqual([]);

    const write = worker.sent[0]!;
    expect(write.command).toMatch(new RegExp(`^cat > '${dir}/\\.powerstack-verify-[0-9a-f]{12}'$`));
    expect(write.stdin).toMatch(/^[0-9a-f]{32}$/);
    // The content is never in a command line.
    expect([...worker.sent, ...control.sent].some((s) => s.command.includes(write.stdin!))).toBe(false);
  });

  it("fails when the control node does not see the file, and still removes it on both sides", async () => {
    const worker = new Spy(w1);
    const elsewhere = new RecordingHost("ctl"); // answers every read with nothing: another filesystem
    const r = await nfsRoundTrip(worker, elsewhere, dir, { reads: 2, readDelayMs: 10 });
    expect(r.status).toBe("fail");
    expect(r.detail).toMatch(/^w1 wrote .*\.powerstack-verify-\w+, but ctl does not see it at /);
    expect(r.fix).toContain("compare `findmnt");
    expect(readdirSync(dir)).toEqual([]);
    const probe = worker.sent[0]!.command.replace(/^cat > /, "");
    expect(elsewhere.commands()).toEqual([
      `cat ${probe} 2>/dev/null || true`,
      `cat ${probe} 2>/dev/null || true`,
      `rm -f ${probe}`,
    ]);
  });

  it("fails with the worker's error when it cannot write", async () => {
    const r = await nfsRoundTrip(w1, ctl, join(dir, "no-such-dir"));
    expect(r.status).toBe("fail");
    expect(r.detail).toMatch(/^w1 cannot write .*on its NFS mount: .*(nonexistent|No such file)/);
  });
});
