// The log store: followers get every byte of a log exactly once, live or replayed from the
// file, resuming from an event id, never with half a UTF-8 character in an event.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeUtf8Length, DEFAULT_MAX_LOG_BYTES, LogLimitError, LogStore, MAX_EVENT_BYTES, maxLogBytesFromEnv, type LogEvent } from "@/server/builds/log-store";

let dir: string;
let store: LogStore;
let nextId = 1;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "builds-log-store-"));
  store = new LogStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A deterministic pseudo-random sequence, so a failure can be rerun.
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Text rich in multi-byte characters (2, 3 and 4 bytes) and ANSI codes. */
function sampleText(lines: number): string {
  const words = ["plain", "café", "‣", "Straße", "日本語", "🙂", "\x1b[0;1;39mbold\x1b[0m", "naïve", "€"];
  const rnd = random(7);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = 1 + Math.floor(rnd() * 12);
    out.push(`${i}: ${Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(" ")}`);
  }
  return out.join("\r\n") + "\r\n";
}

/** Splits bytes into chunks of random sizes, cutting through characters on purpose. */
function chunksOf(bytes: Buffer, seed: number, max = 97): Buffer[] {
  const rnd = random(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(rnd() * max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

const tick = () => new Promise((r) => setImmediate(r));

async function collect(gen: AsyncGenerator<LogEvent>, stopAfter = Infinity): Promise<LogEvent[]> {
  const events: LogEvent[] = [];
  for await (const e of gen) {
    events.push(e);
    if (events.length >= stopAfter) break;
  }
  return events;
}

function checkEvents(events: LogEvent[], from: number, all: Buffer): void {
  let pos = from;
  for (const e of events) {
    const bytes = Buffer.from(e.text, "utf8");
    // Each event continues exactly where the last one ended, and says so in its offset.
    expect(e.offset).toBe(pos + bytes.length);
    expect(bytes.equals(all.subarray(pos, e.offset))).toBe(true);
    expect(e.text).not.toContain("\uFFFD");
    expect(bytes.length).toBeLessThanOrEqual(MAX_EVENT_BYTES + 3);
    pos = e.offset;
  }
  expect(pos).toBe(all.length);
}

describe("completeUtf8Length", () => {
  it("keeps a character's bytes together", () => {
    const e = Buffer.from("a€", "utf8"); // 61 e2 82 ac
    expect(completeUtf8Length(e)).toBe(4);
    expect(completeUtf8Length(e.subarray(0, 3))).toBe(1);
    expect(completeUtf8Length(e.subarray(0, 2))).toBe(1);
    const smile = Buffer.from("🙂", "utf8"); // 4 bytes
    expect(completeUtf8Length(smile.subarray(0, 3))).toBe(0);
    expect(completeUtf8Length(smile)).toBe(4);
    expect(completeUtf8Length(Buffer.from("plain"))).toBe(5);
  });
});

describe("following a log", () => {
  it("from 0 and from a middle offset while it is written: every byte exactly once", async () => {
    const id = nextId++;
    const all = Buffer.from(sampleText(3000), "utf8");
    store.expect(id); // queued: followers wait for it
    const fromStart = collect(store.follow(id, 0));
    const writer = await store.open(id);
    const chunks = chunksOf(all, 1);
    const rnd = random(11);
    const half = Math.floor(chunks.length / 2);
    for (const c of chunks.slice(0, half)) {
      await writer.append(c);
      if (rnd() < 0.2) await tick();
    }
    // A second follower joins in the middle, resuming from an offset a first one was given.
    const early = await collect(store.follow(id, 0), 1);
    const resumeAt = early.at(-1)!.offset;
    expect(resumeAt).toBeGreaterThan(0);
    expect(resumeAt).toBeLessThan(writer.offset);
    const fromMiddle = collect(store.follow(id, resumeAt));
    for (const c of chunks.slice(half)) {
      await writer.append(c);
      if (rnd() < 0.2) await tick();
    }
    await writer.close();
    checkEvents(await fromStart, 0, all);
    checkEvents(await fromMiddle, resumeAt, all);
    checkEvents([...early, ...(await collect(store.follow(id, resumeAt)))], 0, all);
    expect((await readFile(store.path(id))).equals(all)).toBe(true);
  });

  it("resumes after a disconnect from the last event id, with no gap and no duplicate", async () => {
    const id = nextId++;
    const all = Buffer.from(sampleText(2000), "utf8");
    const writer = await store.open(id);
    const chunks = chunksOf(all, 2, 300);
    const feeding = (async () => {
      for (const c of chunks) {
        await writer.append(c);
        await tick();
      }
      await writer.close();
    })();
    const received: LogEvent[] = [];
    let last = 0;
    // Disconnect after a few events, again and again, until the log is complete.
    for (let round = 0; round < 10_000; round++) {
      const controller = new AbortController();
      const got = await collect(store.follow(id, last, controller.signal), 3);
      controller.abort();
      received.push(...got);
      if (got.length === 0) break;
      last = got.at(-1)!.offset;
    }
    await feeding;
    checkEvents(received, 0, all);
  });

  it("never splits a character between events, even when every chunk cuts one", async () => {
    const id = nextId++;
    const all = Buffer.from("🙂€é".repeat(500), "utf8");
    const writer = await store.open(id);
    const follower = collect(store.follow(id, 0));
    // 1-byte and 2-byte chunks: every character arrives in pieces.
    for (let i = 0; i < all.length; ) {
      const n = (i % 3) + 1;
      await writer.append(all.subarray(i, i + n));
      i += n;
      await tick();
    }
    await writer.close();
    const events = await follower;
    checkEvents(events, 0, all);
    expect(events.length).toBeGreaterThan(1);
  });

  it("gives a slow follower everything from the file, holding at most a bounded amount live", async () => {
    const id = nextId++;
    const line = Buffer.from(`${"x".repeat(1000)}é\r\n`, "utf8");
    const writer = await store.open(id);
    const gen = store.follow(id, 0);
    await writer.append(line.subarray(0, 500));
    const first = await gen.next(); // subscribed; now it stops reading while 12 MiB are written
    expect(first.done).toBe(false);
    const total = 12 * 1024 * 1024;
    let written = 500;
    while (written < total) {
      const b = Buffer.concat(Array.from({ length: 64 }, () => line));
      await writer.append(b);
      written += b.length;
    }
    await writer.close();
    const rest: LogEvent[] = [first.value as LogEvent];
    for await (const e of gen) rest.push(e);
    const all = await readFile(store.path(id));
    checkEvents(rest, 0, all);
  });

  it("reads a finished log from the file and ends", async () => {
    const id = nextId++;
    const all = Buffer.from(sampleText(5000), "utf8");
    const writer = await store.open(id);
    for (const c of chunksOf(all, 3, 5000)) await writer.append(c);
    await writer.close();
    const events = await collect(store.follow(id, 0));
    checkEvents(events, 0, all);
    // Bounded reads: a large log comes in many events, never one huge one.
    expect(events.length).toBeGreaterThan(all.length / MAX_EVENT_BYTES);
    const mid = events[Math.floor(events.length / 2)]!.offset;
    checkEvents(await collect(store.follow(id, mid)), mid, all);
  });

  it("ends at once for a queued build that is removed before it ran", async () => {
    const id = nextId++;
    store.expect(id);
    const follower = collect(store.follow(id, 0));
    await tick();
    store.abandon(id);
    expect(await follower).toEqual([]);
  });

  it("stops following when the signal aborts", async () => {
    const id = nextId++;
    const writer = await store.open(id);
    await writer.append(Buffer.from("one\r\n"));
    const controller = new AbortController();
    const gen = store.follow(id, 0, controller.signal);
    expect((await gen.next()).value).toEqual({ offset: 5, text: "one\r\n" });
    const next = gen.next();
    controller.abort();
    expect((await next).done).toBe(true);
    await writer.close();
  });
});

describe("the size limit", () => {
  it("keeps what fits, refuses the rest with a LogLimitError, and takes the server's note beyond it", async () => {
    const capped = new LogStore(dir, "console.log", 100);
    const w = await capped.open(500);
    await w.append(Buffer.from("a".repeat(60)));
    const e = await w.append(Buffer.from("b".repeat(60))).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(LogLimitError);
    expect((e as Error).message).toBe("console.log reached its size limit of 100 B (IMAGE_STUDIO_MAX_LOG_BYTES)");
    expect(w.overLimit).toBe(e);
    await expect(w.append(Buffer.from("c"))).rejects.toBeInstanceOf(LogLimitError);
    await w.append(Buffer.from("\n[note]"), { note: true });
    await w.close();
    expect(await readFile(capped.path(500), "utf8")).toBe(`${"a".repeat(60)}${"b".repeat(40)}\n[note]`);
  });

  it("is 256 MiB unless IMAGE_STUDIO_MAX_LOG_BYTES says otherwise", () => {
    expect(maxLogBytesFromEnv({})).toBe(DEFAULT_MAX_LOG_BYTES);
    expect(DEFAULT_MAX_LOG_BYTES).toBe(256 * 1024 * 1024);
    expect(maxLogBytesFromEnv({ IMAGE_STUDIO_MAX_LOG_BYTES: "64K" })).toBe(65536);
    expect(maxLogBytesFromEnv({ IMAGE_STUDIO_MAX_LOG_BYTES: "1000" })).toBe(1000);
    expect(() => maxLogBytesFromEnv({ IMAGE_STUDIO_MAX_LOG_BYTES: "lots" })).toThrow(/IMAGE_STUDIO_MAX_LOG_BYTES: 'lots' is not a size/);
  });
});
