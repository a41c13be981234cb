/**
 * Phase timings for `POWERSTACK_TIMING=1` (where a run's wall time goes: start-up, inventory, vault,
 * connect, facts, probes). Off by default, and then free: one boolean test per mark. Marks go to node's
 * own performance timeline; bin/powerstack.ts prints them to stderr at exit as one JSON line.
 */
import { performance } from "node:perf_hooks";

export const TIMING = process.env.POWERSTACK_TIMING === "1";

/** Record that `name` happened now (relative to process start); a no-op unless POWERSTACK_TIMING=1. */
export function mark(name: string): void {
  if (TIMING) performance.mark(name);
}

/** Time `fn` as `<name>:start` / `<name>:end` marks; the end is marked whether it resolves or throws. */
export async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!TIMING) return fn();
  performance.mark(`${name}:start`);
  try {
    return await fn();
  } finally {
    performance.mark(`${name}:end`);
  }
}
