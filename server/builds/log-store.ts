// Build logs on disk, and live following of them. A running build's output is appended to
// its build.log as it arrives (through a write stream, with back-pressure); followers get it
// as text events whose id is the byte offset after the event, so a follower that comes back
// with its last id resumes with no gap and no duplicate. Memory stays flat however long the
// log: live chunks are held per follower only up to a cap, beyond which the follower reads
// the bytes back from the file.
import { createWriteStream, type WriteStream } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { mkdirSync } from "node:fs";
import { AppError } from "@/server/errors";
import { formatBytes, parseSize } from "@/server/mkosi/size";

/** Largest event sent to a follower (live chunks are coalesced up to this). */
export const MAX_EVENT_BYTES = 256 * 1024;
/** Replays from the file are read in chunks of this size. */
const READ_BYTES = 64 * 1024;
/** Live bytes a follower may have waiting before it falls back to reading the file. */
const FOLLOWER_CAP = 4 * 1024 * 1024;

/** A log file's size limit unless IMAGE_STUDIO_MAX_LOG_BYTES says otherwise: a run is ended there, not the disk filled. */
export const DEFAULT_MAX_LOG_BYTES = 256 * 1024 * 1024;

/** IMAGE_STUDIO_MAX_LOG_BYTES: bytes, or a size such as 512M or 1G. */
export function maxLogBytesFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.IMAGE_STUDIO_MAX_LOG_BYTES?.trim();
  if (!raw) return DEFAULT_MAX_LOG_BYTES;
  const r = parseSize(raw);
  if (!r.ok) throw new AppError("BAD_REQUEST", `IMAGE_STUDIO_MAX_LOG_BYTES: ${r.error}`);
  return r.bytes;
}

/** The log reached its size limit: what was written stays, the rest of the run's output is not taken. */
export class LogLimitError extends Error {
  constructor(
    readonly fileName: string,
    readonly maxBytes: number,
  ) {
    super(`${fileName} reached its size limit of ${formatBytes(maxBytes)} (IMAGE_STUDIO_MAX_LOG_BYTES)`);
    this.name = "LogLimitError";
  }
}

export interface LogEvent {
  /** Byte offset in build.log right after this event's text. */
  offset: number;
  text: string;
}

interface Chunk {
  start: number;
  buf: Buffer;
}

interface Follower {
  pending: Chunk[];
  pendingBytes: number;
  wake: (() => void) | undefined;
}

/** The live side of one build's log: from enqueue until the last byte is on disk. */
interface Channel {
  /** Bytes accepted so far (the live end of the log). */
  offset: number;
  /** Bytes known to be written to the file. */
  flushed: number;
  done: boolean;
  followers: Set<Follower>;
}

function wakeAll(ch: Channel): void {
  for (const f of ch.followers) {
    const w = f.wake;
    f.wake = undefined;
    w?.();
  }
}

/**
 * How many leading bytes of `buf` end on a whole UTF-8 character: an event never carries
 * half a character; the incomplete tail goes out with the next event.
 */
export function completeUtf8Length(buf: Uint8Array): number {
  const n = buf.length;
  let i = n - 1;
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  while (i >= 0 && n - i <= 3 && (buf[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return n;
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return n - i < need ? i : n;
}

export class LogWriter {
  private stream: WriteStream;
  private failed: Error | undefined;
  /** Set once the log has reached its size limit. */
  overLimit: LogLimitError | undefined;

  constructor(
    private readonly ch: Channel,
    readonly path: string,
    private readonly onClosed: () => void,
    private readonly maxBytes = Infinity,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: "a" });
    this.stream.on("error", (e) => (this.failed = e));
  }

  get offset(): number {
    return this.ch.offset;
  }

  /**
   * Appends bytes; resolves when the stream can take more (the caller's back-pressure). Past
   * the size limit it keeps what fits and throws a LogLimitError; `note` (a line of the
   * server's own, saying why the run ended) is taken beyond it.
   */
  async append(data: Uint8Array, opts: { note?: boolean } = {}): Promise<void> {
    if (data.length === 0) return;
    if (this.failed) throw this.failed;
    if (this.overLimit && !opts.note) throw this.overLimit;
    let buf = Buffer.from(data.buffer, data.byteOffset, data.length);
    if (!opts.note && this.ch.offset + buf.length > this.maxBytes) {
      this.overLimit = new LogLimitError(basename(this.path), this.maxBytes);
      buf = buf.subarray(0, Math.max(0, this.maxBytes - this.ch.offset));
      if (buf.length > 0) await this.write(buf);
      throw this.overLimit;
    }
    await this.write(buf);
  }

  private async write(buf: Buffer): Promise<void> {
    const start = this.ch.offset;
    this.ch.offset += buf.length;
    const end = this.ch.offset;
    for (const f of this.ch.followers) {
      if (f.pendingBytes + buf.length > FOLLOWER_CAP) {
        // A slow follower: drop what it holds; it reads those bytes from the file instead.
        f.pending = [];
        f.pendingBytes = 0;
      } else {
        f.pending.push({ start, buf });
        f.pendingBytes += buf.length;
      }
    }
    const ok = this.stream.write(buf, () => {
      this.ch.flushed = Math.max(this.ch.flushed, end);
      wakeAll(this.ch);
    });
    wakeAll(this.ch);
    if (!ok) await new Promise<void>((r) => this.stream.once("drain", r));
  }

  /** Flushes and closes the file, then lets followers finish. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.stream.closed) resolve();
      else this.stream.end(() => resolve());
    });
    this.ch.flushed = this.ch.offset;
    this.ch.done = true;
    wakeAll(this.ch);
    this.onClosed();
  }
}

export class LogStore {
  private channels = new Map<number, Channel>();

  /** `root` holds one folder per log's owner (`<root>/<id>/<fileName>`): builds, VM consoles. */
  constructor(
    readonly root: string,
    readonly fileName = "build.log",
    /** Each log's size limit (see LogWriter.append). */
    readonly maxBytes = maxLogBytesFromEnv(),
  ) {}

  path(buildId: number): string {
    return join(this.root, String(buildId), this.fileName);
  }

  /** Marks a build's log as coming (queued): followers wait for it instead of ending. */
  expect(buildId: number): void {
    if (!this.channels.has(buildId)) this.channels.set(buildId, { offset: 0, flushed: 0, done: false, followers: new Set() });
  }

  /** The build will write no log (cancelled before it ran): followers end. */
  abandon(buildId: number): void {
    const ch = this.channels.get(buildId);
    if (!ch) return;
    ch.done = true;
    this.channels.delete(buildId);
    wakeAll(ch);
  }

  /** Opens a build's log for appending (after whatever it holds already). */
  async open(buildId: number): Promise<LogWriter> {
    this.expect(buildId);
    const ch = this.channels.get(buildId)!;
    const path = this.path(buildId);
    const size = await stat(path).then((s) => s.size, () => 0);
    ch.offset = ch.flushed = size;
    return new LogWriter(
      ch,
      path,
      () => {
        if (this.channels.get(buildId) === ch) this.channels.delete(buildId);
      },
      this.maxBytes,
    );
  }

  /** The live end of a running build's log, or undefined when nothing is being written. */
  liveOffset(buildId: number): number | undefined {
    return this.channels.get(buildId)?.offset;
  }

  /**
   * Every byte of a build's log from `fromOffset` on, as text events, live while the build
   * runs; ends when the build's log is complete and sent (or when `signal` aborts).
   * `fromOffset` must be 0 or an offset this store gave out as an event's offset.
   */
  async *follow(buildId: number, fromOffset: number, signal?: AbortSignal): AsyncGenerator<LogEvent> {
    const ch = this.channels.get(buildId);
    const follower: Follower = { pending: [], pendingBytes: 0, wake: undefined };
    // Subscribe before reading anything, so no byte written from now on can be missed.
    ch?.followers.add(follower);
    const onAbort = () => {
      const w = follower.wake;
      follower.wake = undefined;
      w?.();
    };
    signal?.addEventListener("abort", onAbort);
    let file: FileHandle | undefined;
    try {
      let pos = fromOffset; // next byte to take
      let carry: Buffer = Buffer.alloc(0); // taken but not sent: an incomplete character
      // A finished log is read up to its size now; a live one up to its live end.
      const fileSize = ch ? 0 : await stat(this.path(buildId)).then((s) => s.size, () => 0);
      const end = () => (ch ? ch.offset : fileSize);
      const wait = () => new Promise<void>((r) => (follower.wake = r));
      for (;;) {
        if (signal?.aborted) return;
        const parts: Buffer[] = [];
        let n = 0;
        // 1. Live chunks that continue exactly where we are (coalesced into one event).
        while (follower.pending.length > 0 && n < MAX_EVENT_BYTES) {
          const c = follower.pending[0]!;
          const cEnd = c.start + c.buf.length;
          if (cEnd <= pos) {
            follower.pending.shift();
            follower.pendingBytes -= c.buf.length;
            continue;
          }
          if (c.start > pos) break; // a gap: those bytes come from the file
          const from = pos - c.start;
          const take = Math.min(c.buf.length - from, MAX_EVENT_BYTES - n);
          parts.push(c.buf.subarray(from, from + take));
          n += take;
          pos += take;
        }
        // 2. Otherwise bytes that are only in the file (a replay, or a follower that fell behind).
        if (n === 0 && pos < end()) {
          const first = follower.pending[0];
          const limit = Math.min(end(), pos + READ_BYTES, first && first.start > pos ? first.start : Infinity);
          if (ch && ch.flushed < limit) {
            // Written but not on disk yet: the write's callback wakes us.
            await wait();
            continue;
          }
          file ??= await open(this.path(buildId), "r").catch(() => undefined);
          const got = file ? await readAt(file, pos, limit - pos) : Buffer.alloc(0);
          // A file shorter than its channel says means it was removed: nothing more can come.
          if (got.length === 0) return;
          parts.push(got);
          n += got.length;
          pos += got.length;
        }
        if (n > 0) {
          const all = carry.length > 0 || parts.length > 1 ? Buffer.concat([carry, ...parts]) : parts[0]!;
          // At the very end of a finished log an incomplete character is sent as it is.
          const last = (!ch || ch.done) && pos >= end();
          const cut = last ? all.length : completeUtf8Length(all);
          carry = all.subarray(cut);
          if (cut > 0) yield { offset: pos - carry.length, text: all.toString("utf8", 0, cut) };
          continue;
        }
        // 3. Nothing to send now: the end, or wait for more.
        if (!ch || ch.done) {
          if (carry.length > 0) yield { offset: pos, text: carry.toString("utf8") };
          return;
        }
        await wait();
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      ch?.followers.delete(follower);
      await file?.close();
    }
  }
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}
