// The artifact download: one file of one build's output folder, streamed from disk with
// Range, HEAD and validators, so `curl -C -` resumes and browsers show progress. Anything
// that is not a file inside that folder (a traversal, an encoded '/', a link pointing out)
// answers the same 404 and touches nothing.
//
// Served by node:http directly (server.ts routes /api/builds/<id>/artifacts/... here before
// Next): Next's route handlers drop a response's Content-Length (send-response.js strips it),
// so a browser could show no progress, and its web-stream pipe costs a copy per chunk.
import type { IncomingMessage, ServerResponse } from "node:http";
import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { eq } from "drizzle-orm";
import { buildPaths } from "@/server/builds/paths";
import type { Db } from "@/server/db/client";
import { builds } from "@/server/db/schema";
import { contentDisposition, etagOf, ifRangeHolds, noneMatch, notModifiedSince, parseRange } from "./ranges";
import { resolveInOutput } from "./resolve";

/** Bytes read from disk per chunk: the per-chunk cost (a read, a socket write) stays small. */
const CHUNK = 1024 * 1024;
/** Chunks in flight per download: one being read while the others are with the socket. */
const BUFFERS = 4;

const PREFIX = "/api/builds/";
const ROUTE_RE = /^\/api\/builds\/([^/?#]*)\/artifacts\/([^?#]*)(?:[?#].*)?$/;

export interface ArtifactRoute {
  id: string;
  segments: string[];
}

/**
 * The build id and the path segments of a download URL, each percent-decoded once and not
 * normalised: a '..' or an encoded '/' reaches the checks in resolve.ts as sent, to be refused
 * there. Null for a URL that is not a download, "bad-escape" for a malformed %-escape.
 */
export function matchArtifactUrl(url: string): ArtifactRoute | "bad-escape" | null {
  if (!url.startsWith(PREFIX)) return null;
  const m = ROUTE_RE.exec(url);
  if (!m) return null;
  try {
    return { id: decodeURIComponent(m[1]!), segments: m[2]!.split("/").map(decodeURIComponent) };
  } catch {
    return "bad-escape";
  }
}

interface Ctx {
  db: Db;
  dataDir: string;
}

type Answer =
  | { status: number; headers: Record<string, string>; error?: string }
  | { status: 200 | 206; headers: Record<string, string>; file: FileHandle; start: number; end: number };

const notFound = (message: string): Answer => ({ status: 404, headers: { "Cache-Control": "no-store" }, error: message });

/** What to answer to a request for `segments` of build `idText`; opens the file when a body is due. */
async function answer(method: string, header: (name: string) => string | null, ctx: Ctx, idText: string, segments: readonly string[]): Promise<Answer> {
  const id = /^[1-9]\d{0,14}$/.test(idText) ? Number(idText) : undefined;
  if (id === undefined || !ctx.db.select({ id: builds.id }).from(builds).where(eq(builds.id, id)).get()) return notFound(`build ${idText} does not exist`);
  const missing = notFound(`build ${id} has no such file in its output folder`);
  const file = await resolveInOutput(buildPaths(ctx.dataDir, id).output, segments);
  if (!file) return missing;

  const st = file.stat;
  const size = st.size;
  const etag = etagOf(st);
  const common: Record<string, string> = {
    ETag: etag,
    "Last-Modified": st.mtime.toUTCString(),
    "Accept-Ranges": "bytes",
    "Cache-Control": "no-cache",
  };
  const inm = header("if-none-match");
  if (inm !== null ? noneMatch(inm, etag) : notModifiedSince(header("if-modified-since"), st.mtimeMs)) return { status: 304, headers: common };

  const range = ifRangeHolds(header("if-range"), etag, st.mtimeMs) ? parseRange(header("range"), size) : { type: "full" as const };
  if (range.type === "unsatisfiable") return { status: 416, headers: { ...common, "Content-Range": `bytes */${size}` } };
  const [status, start, end] = range.type === "partial" ? ([206, range.start, range.end] as const) : ([200, 0, size - 1] as const);
  const headers: Record<string, string> = {
    ...common,
    "Content-Type": "application/octet-stream",
    // The name asked for (a link's own name), as the user expects to save it.
    "Content-Disposition": contentDisposition(basename(segments[segments.length - 1] ?? file.name)),
    "X-Content-Type-Options": "nosniff",
    "Content-Length": String(end - start + 1),
  };
  if (status === 206) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
  if (method === "HEAD" || end < start) return { status, headers };

  const fh = await open(file.path, "r").catch(() => undefined);
  if (!fh) return missing;
  // What was opened must be what was checked: a file swapped in since then is not served.
  const opened = await fh.stat().catch(() => undefined);
  if (!opened || opened.ino !== st.ino || opened.dev !== st.dev) {
    await fh.close().catch(() => undefined);
    return missing;
  }
  return { status, headers, file: fh, start, end };
}

/**
 * Bytes [start, end] of `fh` into `res`, read into a few buffers used in turn: a buffer is read
 * into again only once the socket has taken it (its write callback). A fresh buffer per chunk
 * made V8 fall, for long stretches, into a full GC every ~32 MB sent.
 */
async function sendRange(fh: FileHandle, start: number, end: number, res: ServerResponse): Promise<void> {
  const size = Math.min(CHUNK, end + 1 - start);
  const free: Buffer[] = [];
  let made = 0;
  let wake: (() => void) | undefined;
  let gone = false;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  res.once("close", onClose);
  try {
    for (let pos = start; pos <= end; ) {
      let buf = free.pop();
      if (!buf && made < BUFFERS) {
        made++;
        // Not zero-filled: the read overwrites it, and only the bytes read are sent.
        buf = Buffer.allocUnsafeSlow(size);
      }
      if (!buf) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (gone) return;
        continue;
      }
      if (gone) return;
      const want = Math.min(buf.length, end + 1 - pos);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      // Shorter than its Content-Length promised: cut the connection rather than send less.
      if (bytesRead === 0) throw new Error("the file shrank while being sent");
      pos += bytesRead;
      const chunk = buf;
      res.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead), () => {
        free.push(chunk);
        wake?.();
      });
    }
    res.end();
  } finally {
    res.off("close", onClose);
    await fh.close().catch(() => undefined);
  }
}

/** Answers one download request (GET or HEAD) for build `route.id`'s file `route.segments`. */
export async function sendArtifact(req: IncomingMessage, res: ServerResponse, ctx: Ctx, route: ArtifactRoute | "bad-escape"): Promise<void> {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "application/json" }).end(JSON.stringify({ error: `${method} is not allowed: use GET or HEAD` }));
    return;
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === "string" ? v : null;
  };
  const a = route === "bad-escape" ? notFound("the file name has a malformed %-escape") : await answer(method, header, ctx, route.id, route.segments);
  if ("error" in a && a.error !== undefined) {
    res.writeHead(a.status, { ...a.headers, "Content-Type": "application/json" }).end(method === "HEAD" ? undefined : JSON.stringify({ error: a.error }));
    return;
  }
  res.writeHead(a.status, a.headers);
  if (!("file" in a)) {
    res.end();
    return;
  }
  try {
    await sendRange(a.file, a.start, a.end, res);
  } catch {
    // Headers are out: the only honest signal left is a cut connection.
    res.destroy();
  }
}
