/**
 * The fact cache against a real shell (this machine, through LocalHost): the batch script's format read
 * back by splitBatch, what a failed parse leaves behind, invalidation, and that only uncached facts are
 * read. Every snippet is read-only and looks only at files in a temp dir of this test.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { defineFact, FactReadError, requireSuccess } from "../../src/engine/fact.js";
import { batchScript, FactCache, splitBatch } from "../../src/engine/fact-cache.js";
import { shq, type ExecOptions } from "../../src/transport/host.js";
import { LocalHost } from "../../src/transport/local-host.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "powerstack-fact-cache-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Counts what it is sent: fact batches and their snippets. */
class CountingHost extends LocalHost {
  readonly sent: string[] = [];
  override exec(cmd: string, opts?: ExecOptions) {
    this.sent.push(cmd);
    return super.exec(cmd, opts);
  }
  /** How many fact snippets each command carried. */
  snippets(): number[] {
    return this.sent.map((c) => [...c.matchAll(/:\d+:begin\\n'; \( /g)].length);
  }
}

/** A file's content, read with `cat`: a missing file is a failed read, as a real fact would treat it. */
const content = defineFact<string, string>({
  name: "test-content",
  key: (name) => name,
  command: (name) => `cat ${shq(join(dir, name))}`,
  parse(out, name) {
    requireSuccess("test-content", name, out);
    return out.stdout;
  },
});

/** A file's size in bytes (a second family, to invalidate one family and keep the other). */
const size = defineFact<number, string>({
  name: "test-size",
  key: (name) => name,
  command: (name) => `wc -c < ${shq(join(dir, name))}`,
  parse(out, name) {
    requireSuccess("test-size", name, out);
    return Number(out.stdout.trim());
  },
});

/** A fact whose parser refuses what it reads (as a parser does with output it does not understand). */
const refusing = defineFact<string>({
  name: "test-refusing",
  command: () => "echo garbage",
  parse(out) {
    throw new FactReadError("test-refusing", "something", { ...out, code: -1 });
  },
});

describe("batch format, through a real shell", () => {
  test("stdout, stderr and exit status of each snippet come back exactly, whatever the others do", async () => {
    const host = new LocalHost("local");
    const nonce = "0123456789ab";
    const snippets = [
      "printf 'one\\ntwo\\n'",
      // Output that looks like a marker of another nonce, and a snippet ending the subshell early.
      "printf '@@ffffffffffff:1:end:0\\n'; echo oops >&2; exit 3",
      // No trailing newline, stderr only from a program that fails.
      `printf 'no newline'; cat ${shq(join(dir, "missing"))}`,
      // `exit` and `cd` in one snippet do not reach the next.
      "cd /; exit 0",
      "pwd >/dev/null; echo last",
    ];
    const res = await host.exec(batchScript(snippets, nonce));
    expect(res.code).toBe(0);
    const outs = splitBatch(res.stdout, snippets.length, nonce);
    expect(outs[0]).toEqual({ stdout: "one\ntwo\n", stderr: "", code: 0 });
    expect(outs[1]).toEqual({ stdout: "@@ffffffffffff:1:end:0\n", stderr: "oops\n", code: 3 });
    expect(outs[2]!.stdout).toBe("no newline");
    expect(outs[2]!.code).toBe(1);
    expect(outs[2]!.stderr).toMatch(/missing: No such file or directory/);
    expect(outs[3]).toEqual({ stdout: "", stderr: "", code: 0 });
    expect(outs[4]).toEqual({ stdout: "last\n", stderr: "", code: 0 });
    // The stderr of a snippet never leaks into the command's own stderr.
    expect(res.stderr).toBe("");
  });

  test("a missing result is an error, not an empty answer", () => {
    expect(() => splitBatch("\n@@n:0:begin\nhalf", 1, "n")).toThrow(/fact 0 produced no result/);
  });
});

describe("FactCache, through a real shell", () => {
  test("a non-zero exit is a FactReadError carrying the snippet's stderr", async () => {
    const cache = new FactCache(new LocalHost("local"));
    const err = await cache.read([content.of("absent")]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FactReadError);
    expect((err as FactReadError).message).toMatch(/cannot read absent \(exit 1\):[\s\S]*No such file/);
  });

  test("only facts not cached yet are read, all of them in one batch", async () => {
    writeFileSync(join(dir, "a"), "alpha\n");
    writeFileSync(join(dir, "b"), "beta!\n");
    const host = new CountingHost("local");
    const cache = new FactCache(host);
    await cache.read([content.of("a"), content.of("b"), size.of("a"), content.of("a")]);
    expect(host.snippets()).toEqual([3]);
    expect(cache.batches).toBe(1);
    expect(cache.get(content.of("a"))).toBe("alpha\n");
    expect(cache.get(content.of("b"))).toBe("beta!\n");
    expect(cache.get(size.of("a"))).toBe(6);

    // Everything cached: no command at all.
    await cache.read([content.of("a"), size.of("a")]);
    expect(cache.batches).toBe(1);
    // One new fact among cached ones: a batch of that one only.
    await cache.read([content.of("a"), size.of("b"), content.of("b")]);
    expect(host.snippets()).toEqual([3, 1]);
    expect(cache.get(size.of("b"))).toBe(6);
  });

  test("a parse that throws leaves the cache as it was, even for the batch's other facts", async () => {
    writeFileSync(join(dir, "c"), "gamma\n");
    const host = new CountingHost("local");
    const cache = new FactCache(host);
    await cache.read([content.of("a")]);
    await expect(cache.read([content.of("c"), refusing.of(), size.of("c")])).rejects.toThrow(FactReadError);
    expect(cache.has(content.of("a"))).toBe(true);
    expect(cache.has(content.of("c"))).toBe(false);
    expect(cache.has(size.of("c"))).toBe(false);
    expect(() => cache.get(content.of("c"))).toThrow(/was not read/);
    // The next read asks for both again (and the failed one is not remembered as anything).
    await cache.read([content.of("c"), size.of("c")]);
    expect(host.snippets()).toEqual([1, 3, 2]);
  });

  test("a local fact read alongside: cached with the shell ones; when both fail, one error and no stray rejection", async () => {
    let localReads = 0;
    const local = defineFact<string, string>({
      name: "test-local",
      key: (what) => what,
      async local(what) {
        localReads++;
        await new Promise((r) => setTimeout(r, 20));
        if (what === "broken") throw new Error("BMC unreachable");
        return `local ${what}`;
      },
    });
    const host = new CountingHost("local");
    const cache = new FactCache(host);
    await cache.read([local.of("ok"), content.of("a")]);
    expect(cache.get(local.of("ok"))).toBe("local ok");
    expect(host.snippets()).toEqual([1]);
    await cache.read([local.of("ok")]);
    expect(localReads).toBe(1);
    // The shell read fails first; the local one fails after it: the caller gets the shell's error, and
    // the local one's rejection is not left unhandled (which would end the process).
    await expect(cache.read([local.of("broken"), refusing.of()])).rejects.toThrow(FactReadError);
    await new Promise((r) => setTimeout(r, 50));
    expect(cache.has(local.of("broken"))).toBe(false);
  });

  test("invalidation: one ref, a whole family, or everything", async () => {
    writeFileSync(join(dir, "d"), "delta\n");
    const host = new CountingHost("local");
    const cache = new FactCache(host);
    const all = [content.of("a"), content.of("d"), size.of("a"), size.of("d")];
    await cache.read(all);
    const cached = () => all.filter((r) => cache.has(r)).map((r) => r.key);

    cache.invalidate([content.of("d")]);
    expect(cached()).toEqual(["test-content:a", "test-size:a", "test-size:d"]);
    // The file changed meanwhile: the re-read sees it, the facts that were kept are not read.
    writeFileSync(join(dir, "d"), "delta 2\n");
    await cache.read(all);
    expect(host.snippets().at(-1)).toBe(1);
    expect(cache.get(content.of("d"))).toBe("delta 2\n");
    expect(cache.get(size.of("d"))).toBe(6);

    cache.invalidate([size]);
    expect(cached()).toEqual(["test-content:a", "test-content:d"]);
    await cache.read(all);
    expect(host.snippets().at(-1)).toBe(2);
    expect(cache.get(size.of("d"))).toBe(8);

    cache.invalidate([]);
    expect(cached()).toHaveLength(4);
    cache.invalidate(undefined);
    expect(cached()).toEqual([]);
    await cache.read(all);
    expect(host.snippets()).toEqual([4, 1, 2, 4]);
  });
});
