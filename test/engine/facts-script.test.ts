/**
 * The host facts script runs first on every host of every run, so it starts as few programs as it can:
 * only `uname`, `lsblk` and `ip`. Run here with a PATH holding nothing else (`cat`, `sed`, `hostname`
 * would not be found), it must still report what this machine's own files and kernel say.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { arch, hostname, release, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { FACTS_SCRIPT, parseFacts } from "../../src/engine/facts.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A PATH directory with only these programs. */
function onlyPrograms(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "facts-path-"));
  dirs.push(dir);
  for (const n of names) {
    const real = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => join(d, n)).find((p) => existsSync(p));
    if (real) symlinkSync(real, join(dir, n));
  }
  return dir;
}

test("the facts script needs no program but uname, lsblk and ip, and reads the same facts", () => {
  const path = onlyPrograms(["uname", "lsblk", "ip"]);
  const out = execFileSync("/bin/sh", ["-c", FACTS_SCRIPT], { encoding: "utf8", env: { PATH: path } });
  const facts = parseFacts(out);

  const osRelease = readFileSync("/etc/os-release", "utf8");
  const id = /^ID="?([^"\n]*)"?$/m.exec(osRelease)?.[1];
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
  expect(facts.os.id).toBe(id);
  expect(facts.kernel).toBe(release());
  expect(facts.hostname).toBe(hostname());
  expect(facts.init).toBe(readFileSync("/proc/1/comm", "utf8").trim());
  expect(facts.memTotalKb).toBe(memKb);
  expect(facts.arch).toBe({ x64: "x86_64", arm64: "aarch64" }[arch() as string] ?? facts.arch);
  expect(facts.interfaces.map((i) => i.name)).toContain("lo");
});
