/**
 * At most `limit` calls in flight over a list, taken in list order: the runner's hosts of a play and
 * `verify`'s nodes (`--forks`). A call that throws rejects the whole at once, as Promise.all does; the
 * calls already running are not stopped (each owns its connection and cleans up after itself).
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
