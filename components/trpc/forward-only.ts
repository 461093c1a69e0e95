// Objects whose life only moves forward (a build, a conversion job) reach a page by several
// paths: the stream's events, a query's answer, a mutation's answer. Each is a snapshot taken
// at some moment on the server, and they arrive in no fixed order (a convert answer with 0%
// came in after the stream's 4% and moved the bar back). Of two snapshots, the later one is
// kept, told by an age that only grows: the state's rank, then a counter that only grows.

/** Lexicographic: positive when `a` is later than `b`. */
function compareAge(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The later of two snapshots of one object; on a tie the incoming one. */
export function later<T>(held: T | undefined, incoming: T, age: (t: T) => readonly number[]): T {
  return held !== undefined && compareAge(age(held), age(incoming)) > 0 ? held : incoming;
}

/**
 * A list answer merged with the list held: membership from the answer, each item the later of
 * its two snapshots. For a query's `structuralSharing`, so refetches obey the same rule.
 */
export function laterList<T extends { id: number }>(held: readonly T[] | undefined, incoming: readonly T[], age: (t: T) => readonly number[]): T[] {
  const byId = new Map((held ?? []).map((t) => [t.id, t]));
  return incoming.map((t) => later(byId.get(t.id), t, age));
}
