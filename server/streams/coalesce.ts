// The shape of every "current state, then each change" stream (builds, VM runs, conversions):
// listen first, then read what is there, then wait for changes without polling, keeping only
// the latest change per key so a slow reader never piles them up.
import type { EventEmitter } from "node:events";

export interface ChangeSource<K, V> {
  /** Starts listening; `push` records a change. Returns what stops listening. */
  subscribe(push: (key: K, value: V) => void): () => void;
  /** The state now, read once after subscribing; a key already pushed keeps its (newer) value. */
  backlog(): Iterable<readonly [K, V]>;
}

/**
 * The backlog, then every change, in batches: each batch holds the latest value of each key
 * changed since the last one, in the order the keys first changed. A change between subscribing
 * and reading the backlog is sent twice at worst, never lost. Ends when `signal` aborts or the
 * reader stops; either way the listeners are removed.
 */
export async function* coalesced<K, V>(source: ChangeSource<K, V>, signal?: AbortSignal): AsyncGenerator<V[], void, undefined> {
  if (signal?.aborted) return;
  const pending = new Map<K, V>();
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const unsubscribe = source.subscribe((key, value) => {
    pending.set(key, value);
    poke();
  });
  signal?.addEventListener("abort", poke);
  try {
    for (const [key, value] of source.backlog()) if (!pending.has(key)) pending.set(key, value);
    for (;;) {
      if (signal?.aborted) return;
      if (pending.size === 0) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const batch = [...pending.values()];
      pending.clear();
      yield batch;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", poke);
  }
}

/** Listens to one event of an emitter; returns what stops listening (for ChangeSource.subscribe). */
export function listen<A extends unknown[]>(emitter: EventEmitter, event: string, listener: (...args: A) => void): () => void {
  const l = listener as (...args: unknown[]) => void;
  emitter.on(event, l);
  return () => emitter.off(event, l);
}
