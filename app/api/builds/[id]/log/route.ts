// Download of a build's log (build.log as mkosi wrote it, colours included), streamed from
// disk. For a running build, the log as far as it is written now.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { getDb } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { buildQueue } from "@/server/builds/queue";
import { buildLogFile } from "@/server/builds/service";

export const dynamic = "force-dynamic";

const notFound = (message: string) => Response.json({ error: message }, { status: 404 });

export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await ctx.params;
  const n = /^[1-9]\d{0,14}$/.test(id) ? Number(id) : undefined;
  if (n === undefined) return notFound(`build ${id} does not exist`);
  try {
    const { path, filename } = buildLogFile(buildQueue(getDb()), n);
    const size = await stat(path).then((s) => s.size, () => undefined);
    if (size === undefined) return notFound(`build ${n} has no log (it never ran)`);
    const body = size === 0 ? null : (Readable.toWeb(createReadStream(path, { start: 0, end: size - 1 })) as ReadableStream<Uint8Array>);
    return new Response(body, {
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Disposition": `attachment; filename="${filename}"`,
        "Content-Length": String(size),
        "Cache-Control": "no-store",
      },
    });
  } catch (e) {
    if (e instanceof AppError && e.code === "NOT_FOUND") return notFound(e.message);
    throw e;
  }
}
