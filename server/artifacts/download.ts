// The artifact download: one file of one build's output folder, streamed from disk with
// Range, HEAD and validators, so `curl -C -` resumes and browsers show progress. Anything
// that is not a file inside that folder (a traversal, an encoded '/', a link pointing out)
// answers the same 404 and touches nothing.
import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { builds } from "@/server/db/schema";
import { eq } from "drizzle-orm";
import { contentDisposition, etagOf, ifRangeHolds, noneMatch, notModifiedSince, parseRange } from "./ranges";
import { resolveInOutput } from "./resolve";

const notFound = (message: string) => Response.json({ error: message }, { status: 404, headers: { "Cache-Control": "no-store" } });

/**
 * Bytes read from disk per chunk: large enough that the per-chunk cost (a read, a few promises
 * in Next's pipe, a socket write) stays small, while a download holds only a few MiB.
 */
const CHUNK = 1024 * 1024;
/** Chunks read ahead of the one being written, so the disk read overlaps the socket write. */
const READ_AHEAD = 2;

export interface ServeOptions {
  /**
   * Set only by a caller that writes the body out as it reads it and is done with each chunk
   * before it reads the next: Next's pipe into the socket is (it waits for 'drain' after every
   * chunk, and 'drain' means the socket has handed all of it to the kernel), and so is the test
   * server. The file is then read into a few buffers used in turn. With a fresh buffer per
   * chunk V8 fell, at random and for long stretches, into a full GC every ~32 MB sent (~30 per
   * GiB, 3-4x the CPU of the download). A consumer that keeps chunks
   * (Response.arrayBuffer(), tee) would see them overwritten: it must leave this unset.
   */
  reuseBuffers?: boolean;
}

/**
 * Bytes [start, end] of an open file, read straight into the buffers handed on (Readable.toWeb
 * copied every chunk once more). A plain stream, not type "bytes": that one transfers each
 * buffer it is given, so none could be used again. The handle is closed at the end, on an
 * error, and when the stream is cancelled (the client went away).
 */
function fileStream(fh: FileHandle, start: number, end: number, close: () => Promise<void>, reuse: boolean): ReadableStream<Uint8Array> {
  let pos = start;
  // pull() runs while fewer than READ_AHEAD chunks wait, and the consumer holds one more: a
  // buffer is used again READ_AHEAD + 2 chunks later, one more than needed.
  const ring: Buffer[] = [];
  let turn = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const want = Math.min(CHUNK, end + 1 - pos);
          // Not zero-filled: the read overwrites it, and only the bytes read are sent.
          let buf: Buffer;
          if (reuse) {
            const slot = turn++ % (READ_AHEAD + 2);
            buf = ring[slot] ??= Buffer.allocUnsafeSlow(Math.min(CHUNK, end + 1 - start));
          } else buf = Buffer.allocUnsafeSlow(want);
          const { bytesRead } = await fh.read(buf, 0, want, pos);
          // Shorter than its Content-Length promised: fail the response rather than send less.
          if (bytesRead === 0) throw new Error("the file shrank while being sent");
          pos += bytesRead;
          controller.enqueue(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
          if (pos > end) {
            controller.close();
            await close();
          }
        } catch (e) {
          await close();
          throw e;
        }
      },
      cancel: close,
    },
    { highWaterMark: READ_AHEAD },
  );
}

export async function serveArtifact(req: Request, queue: BuildQueue, idText: string, segments: readonly string[], opts: ServeOptions = {}): Promise<Response> {
  const id = /^[1-9]\d{0,14}$/.test(idText) ? Number(idText) : undefined;
  if (id === undefined || !queue.db.select({ id: builds.id }).from(builds).where(eq(builds.id, id)).get())
    return notFound(`build ${idText} does not exist`);
  const file = await resolveInOutput(buildPaths(queue.dataDir, id).output, segments);
  if (!file) return notFound(`build ${id} has no such file in its output folder`);

  const st = file.stat;
  const size = st.size;
  const etag = etagOf(st);
  const common: Record<string, string> = {
    ETag: etag,
    "Last-Modified": st.mtime.toUTCString(),
    "Accept-Ranges": "bytes",
    "Cache-Control": "no-cache",
  };
  const inm = req.headers.get("if-none-match");
  if (inm !== null ? noneMatch(inm, etag) : notModifiedSince(req.headers.get("if-modified-since"), st.mtimeMs))
    return new Response(null, { status: 304, headers: common });

  const headers: Record<string, string> = {
    ...common,
    "Content-Type": "application/octet-stream",
    // The name asked for (a link's own name), as the user expects to save it.
    "Content-Disposition": contentDisposition(basename(segments[segments.length - 1] ?? file.name)),
    "X-Content-Type-Options": "nosniff",
  };
  const range = ifRangeHolds(req.headers.get("if-range"), etag, st.mtimeMs) ? parseRange(req.headers.get("range"), size) : { type: "full" as const };
  if (range.type === "unsatisfiable")
    return new Response(null, { status: 416, headers: { ...common, "Content-Range": `bytes */${size}` } });
  const [status, start, end] = range.type === "partial" ? [206, range.start, range.end] : [200, 0, size - 1];
  headers["Content-Length"] = String(end - start + 1);
  if (status === 206) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
  if (req.method === "HEAD" || end < start) return new Response(null, { status, headers });
  let fh: FileHandle;
  try {
    fh = await open(file.path, "r");
  } catch {
    return notFound(`build ${id} has no such file in its output folder`);
  }
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= fh.close().catch(() => undefined));
  // What was opened must be what was checked: a file swapped in since then is not served.
  const opened = await fh.stat().catch(() => undefined);
  if (!opened || opened.ino !== st.ino || opened.dev !== st.dev) {
    await close();
    return notFound(`build ${id} has no such file in its output folder`);
  }
  // Next may drop a response whose client left before its body was read, without cancelling it.
  req.signal.addEventListener("abort", () => void close(), { once: true });
  return new Response(fileStream(fh, start, end, close, opts.reuseBuffers ?? false), { status, headers });
}
