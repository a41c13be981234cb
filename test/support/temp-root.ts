/**
 * vitest globalSetup of the unit project: one temp root per run, removed when the run ends (issue 16
 * item 16). vitest.config.ts points the workers' TMPDIR (so every `mkdtempSync(join(tmpdir(), ...))`,
 * tsx's cache, the vault editor's temp files and any child process' temp files) and POWERSTACK_LOG_DIR
 * (the run logs of CLI calls) into it. Deliberate caches that outlive a run (the unzipped Helm and kubectl,
 * test/support/real-helm.ts) are named by POWERSTACK_TEST_CACHE and stay outside.
 *
 * A root left by a run that was killed (its process is gone) is removed at the next run's start; the
 * roots of runs still going (other sessions on the same machine) are left alone.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TestProject } from "vitest/node";

/** vitest.config.ts names the run's root `<tmp>/powerstack-test-run-<pid of the main vitest process>`. */
export const RUN_ROOT_PREFIX = "powerstack-test-run-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Remove the roots of runs whose process is gone; never the current one, never a live run's. */
export function removeStaleRoots(tmp: string, current: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = new RegExp(`^${RUN_ROOT_PREFIX}(\\d+)$`).exec(name);
    if (!m) continue;
    const dir = join(tmp, name);
    if (dir === current || alive(Number(m[1]))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export default function setup(project: TestProject): () => void {
  const root = project.config.env.TMPDIR;
  const logs = project.config.env.POWERSTACK_LOG_DIR;
  if (!root || !logs || !root.includes(RUN_ROOT_PREFIX) || !logs.startsWith(root))
    throw new Error(
      `temp-root: vitest.config.ts must set env TMPDIR to a ${RUN_ROOT_PREFIX}<pid> dir and POWERSTACK_LOG_DIR inside it`,
    );
  removeStaleRoots(dirname(root), root);
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  return () => rmSync(root, { recursive: true, force: true });
}
