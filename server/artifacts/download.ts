// The artifact download: one file of one build's output folder, streamed from disk with
// Range, HEAD and validators, so `curl -C -` resumes and browsers show progress. Anything
// that is not a file inside that folder (a traversal, an encoded '/', a link pointing out)
// answers the same 404 and touches nothing.
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { builds } from "@/server/db/schema";
import { eq } from "drizzle-orm";
import { contentDisposition, etagOf, ifRangeHolds, noneMatch, notModifiedSince, parseRange } from "./ranges";
import { resolveInOutput } from "./resolve";

const notFound = (message: string) => Response.json({ error: message }, { status: 404, headers: { "Cache-Control": "no-store" } });

/** Chunks read from disk per step: large chunks keep the per-chunk cost of web streams low. */
const CHUNK = 1024 * 1024;

export async function serveArtifact(req: Request, queue: BuildQueue, idText: string, segments: readonly string[]): Promise<Response> {
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
  const stream = createReadStream(file.path, { start, end, highWaterMark: CHUNK });
  // A client that goes away cancels the web stream, which destroys the file stream.
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
}
