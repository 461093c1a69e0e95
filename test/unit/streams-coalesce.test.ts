// The helper behind every "state, then changes" stream: it listens before it reads the
// backlog, keeps the latest change per key, ends on abort, and leaves no listener behind.
import { EventEmitter, getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { coalesced, listen, type ChangeSource } from "@/server/streams/coalesce";

type Change = { key: string; v: number };

function source(emitter: EventEmitter, backlog: () => [string, Change][]): ChangeSource<string, Change> {
  return { subscribe: (push) => listen(emitter, "change", (c: Change) => push(c.key, c)), backlog };
}

describe("coalesced", () => {
  it("listens before it reads the backlog, so a change made meanwhile is not lost and wins over the stale value", async () => {
    const e = new EventEmitter();
    let listenersWhenRead = -1;
    const it = coalesced(
      source(e, () => {
        listenersWhenRead = e.listenerCount("change");
        // A change lands while the backlog is being read: the backlog's older value must not replace it.
        e.emit("change", { key: "a", v: 2 });
        return [["a", { key: "a", v: 1 }], ["b", { key: "b", v: 1 }]];
      }),
    );
    const first = await it.next();
    expect(listenersWhenRead).toBe(1);
    expect(first.value).toEqual([{ key: "a", v: 2 }, { key: "b", v: 1 }]);
    await it.return();
  });

  it("keeps only the latest change of each key while the reader is busy, in the order keys first changed", async () => {
    const e = new EventEmitter();
    const it = coalesced(source(e, () => []));
    const waiting = it.next();
    e.emit("change", { key: "x", v: 1 });
    expect((await waiting).value).toEqual([{ key: "x", v: 1 }]);
    // The reader is not asking now: these pile up as one batch.
    for (let v = 1; v <= 100; v++) e.emit("change", { key: v % 2 ? "y" : "x", v });
    expect((await it.next()).value).toEqual([{ key: "y", v: 99 }, { key: "x", v: 100 }]);
    await it.return();
  });

  it("ends when the signal aborts, also while waiting, and removes its listeners", async () => {
    const e = new EventEmitter();
    const ac = new AbortController();
    const it = coalesced(source(e, () => [["a", { key: "a", v: 1 }]]), ac.signal);
    expect((await it.next()).done).toBe(false);
    const waiting = it.next();
    expect(e.listenerCount("change")).toBe(1);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(e.listenerCount("change")).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("removes its listeners when the reader stops, and when the backlog fails", async () => {
    const e = new EventEmitter();
    const ac = new AbortController();
    const it = coalesced(source(e, () => [["a", { key: "a", v: 1 }]]), ac.signal);
    await it.next();
    await it.return();
    expect(e.listenerCount("change")).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);

    const failing = coalesced(
      source(e, () => {
        throw new Error("gone");
      }),
      ac.signal,
    );
    await expect(failing.next()).rejects.toThrow("gone");
    expect(e.listenerCount("change")).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("does not start at all on an aborted signal", async () => {
    const e = new EventEmitter();
    let read = false;
    const it = coalesced(
      source(e, () => {
        read = true;
        return [];
      }),
      AbortSignal.abort(),
    );
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(read).toBe(false);
    expect(e.listenerCount("change")).toBe(0);
  });
});
