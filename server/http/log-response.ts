// A log file (a build's log, a VM's console) as a download, streamed from disk: as far as it
// is written now when it is still growing.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";

export const notFound = (message: string) => Response.json({ error: message }, { status: 404 });

/** Parses a route's numeric id; undefined when it cannot be one. */
export const routeId = (id: string) => (/^[1-9]\d{0,14}$/.test(id) ? Number(id) : undefined);

export async function logFileResponse(path: string, filename: string, missing: string): Promise<Response> {
  const size = await stat(path).then((s) => s.size, () => undefined);
  if (size === undefined) return notFound(missing);
  const body = size === 0 ? null : (Readable.toWeb(createReadStream(path, { start: 0, end: size - 1 })) as ReadableStream<Uint8Array>);
  return new Response(body, {
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Content-Length": String(size),
      "Cache-Control": "no-store",
    },
  });
}
