/**
 * The one forks pool (runner's hosts of a play, verify's nodes): never more than `limit` calls at once,
 * items started in list order, every item done once, and a failure rejecting the whole.
 */
import { describe, expect, it } from "vitest";
import { forEachLimited } from "../../src/engine/pool.js";

/** Runs `items` through the pool with calls that finish in a scrambled order; records starts and peak. */
async function observe(items: number[], limit: number) {
  let inFlight = 0;
  let peak = 0;
  const started: number[] = [];
  const done: number[] = [];
  await forEachLimited(items, limit, async (i) => {
    started.push(i);
    peak = Math.max(peak, ++inFlight);
    // Later items sometimes finish first: the pool must still keep `limit` busy and take the next in order.
    for (let t = 0; t <= (i * 7) % 5; t++) await Promise.resolve();
    inFlight--;
    done.push(i);
  });
  return { peak, started, done };
}

describe("forEachLimited", () => {
  it("runs every item once, starts them in order, at most `limit` at a time", async () => {
    const items = Array.from({ length: 12 }, (_, i) => i);
    for (const limit of [1, 3, 5, 50]) {
      const r = await observe(items, limit);
      expect(r.started).toEqual(items);
      expect([...r.done].sort((a, b) => a - b)).toEqual(items);
      expect(r.peak).toBe(Math.min(limit, items.length));
    }
  });

  it("an empty list calls nothing; a limit below 1 still makes progress (one at a time)", async () => {
    expect((await observe([], 4)).started).toEqual([]);
    expect(await observe([1, 2, 3], 0)).toMatchObject({ peak: 1, started: [1, 2, 3] });
  });

  it("a call that throws rejects the whole with that error", async () => {
    const run = forEachLimited([1, 2, 3], 2, async (i) => {
      if (i === 2) throw new Error("host 2 failed");
    });
    await expect(run).rejects.toThrow("host 2 failed");
  });
});
