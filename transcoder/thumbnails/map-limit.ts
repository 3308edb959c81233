// Bounded parallelism for the poster's FFmpeg seeks and sharp encodes: the storyboard's full decode
// runs beside them, and the host has only so many cores.

/**
 * `fn` over `items`, at most `limit` at a time; results in order. After a failure no new item starts,
 * and the promise rejects (with the first error) only once the running ones have settled: a caller's
 * cleanup never races a still-running FFmpeg.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (failure === null && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}
