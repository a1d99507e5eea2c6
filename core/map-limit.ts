/** Run `fn` over `items` with at most `limit` in flight (stores answer thousands of small reads); results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/**
 * `fn` over a (possibly lazy) sequence with at most `limit` calls in flight, yielding results in input order:
 * streaming reads of a store whose memory is `limit` items, however long the sequence.
 */
export async function* mapOrdered<T, R>(items: Iterable<T>, limit: number, fn: (t: T) => Promise<R>): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  const it = items[Symbol.iterator]();
  let done = false;
  const fill = () => {
    while (!done && window.length < limit) {
      const n = it.next();
      if (n.done) done = true;
      else {
        const p = fn(n.value);
        p.catch(() => undefined); // awaited in order below; an early rejection must not be "unhandled" meanwhile
        window.push(p);
      }
    }
  };
  fill();
  while (window.length > 0) {
    const r = await window.shift()!;
    fill();
    yield r;
  }
}
