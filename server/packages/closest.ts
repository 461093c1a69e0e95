// "Did you mean ...?": the real names closest to a misspelt one, by edit distance (insertions,
// deletions, substitutions and swaps of neighbours), bounded so that a scan of every name of a
// Debian index (about 65,000) takes milliseconds. Pure.

// Rows reused across calls: a scan of every name must not allocate three arrays per name.
let rows = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/** Optimal string alignment distance of a and b, or max + 1 when it is more than max. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a === b) return 0;
  const n = b.length;
  if (rows[0]!.length <= n) rows = [new Int32Array(n + 1), new Int32Array(n + 1), new Int32Array(n + 1)];
  let [prev2, prev, cur] = rows as [Int32Array, Int32Array, Int32Array];
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const cb = b.charCodeAt(j - 1);
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca === cb ? 0 : 1));
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[n]!, max + 1);
}

/** How far off a name may be and still be suggested: more for longer names. */
export const maxDistanceFor = (name: string) => (name.length <= 4 ? 1 : name.length <= 10 ? 2 : 3);

/** Up to `limit` names closest to `name`, nearest first (ties: shorter, then alphabetical). */
export function closestNames(name: string, names: Iterable<string>, limit = 3): string[] {
  const max = maxDistanceFor(name);
  const found: { n: string; d: number }[] = [];
  for (const n of names) {
    if (n === name || Math.abs(n.length - name.length) > max) continue;
    const d = editDistance(name, n, max);
    if (d <= max) found.push({ n, d });
  }
  found.sort((x, y) => x.d - y.d || x.n.length - y.n.length || (x.n < y.n ? -1 : 1));
  return found.slice(0, limit).map((f) => f.n);
}
