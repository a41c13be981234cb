/**
 * The suite leaves no temp directory behind (issue 16 item 16): every unit test file runs with TMPDIR and
 * POWERSTACK_LOG_DIR inside one root per run, which test/support/temp-root.ts (the unit project's
 * globalSetup) removes when the run ends; a root whose run was killed is removed by the next run.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RUN_ROOT_PREFIX, removeStaleRoots } from "../support/temp-root.js";
import { powerstackInProcess, ROOT } from "../energy/cli.js";

const EXAMPLE = join(ROOT, "inventory", "example.yaml");

describe("one temp root per run", () => {
  const root = tmpdir();
  const scratch = mkdtempSync(join(tmpdir(), "powerstack-temp-root-test-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("tmpdir() and the run-log directory are inside this run's root, which is not the OS temp dir", () => {
    expect(basename(root)).toMatch(new RegExp(`^${RUN_ROOT_PREFIX}\\d+$`));
    expect(process.env.TMPDIR).toBe(root);
    expect(process.env.POWERSTACK_LOG_DIR).toBe(join(root, "logs"));
    expect(scratch.startsWith(`${root}/`)).toBe(true);
    // The cache meant to outlive runs stays beside the root, not in it.
    expect(process.env.POWERSTACK_TEST_CACHE).toBe(join(dirname(root), "powerstack-cache"));
  });

  it("a CLI call's run log lands in the root (the default --log-dir is POWERSTACK_LOG_DIR)", async () => {
    const logs = join(root, "logs");
    const before = new Set(readdirSync(logs));
    const r = await powerstackInProcess(["-i", EXAMPLE, "render", join(scratch, "out")]);
    expect(r.code).toBe(0);
    expect(readdirSync(logs).filter((f) => !before.has(f) && f.endsWith("-render.jsonl"))).toHaveLength(1);
  });

  it("removes the roots of runs whose process is gone, never a live run's or the current one", () => {
    const tmp = join(scratch, "os-tmp");
    mkdirSync(tmp);
    // Process ids above the kernel's pid_max (4194304 at most) never exist.
    const dead = join(tmp, `${RUN_ROOT_PREFIX}99999999`);
    const live = join(tmp, `${RUN_ROOT_PREFIX}${process.ppid}`);
    const current = join(tmp, `${RUN_ROOT_PREFIX}99999998`);
    const other = join(tmp, `${RUN_ROOT_PREFIX}notapid`);
    for (const d of [dead, live, current, other]) mkdirSync(join(d, "logs"), { recursive: true });
    expect(removeStaleRoots(tmp, current)).toEqual([dead]);
    expect(readdirSync(tmp).sort()).toEqual([basename(current), basename(live), basename(other)].sort());
  });
});
