// Download of a build's log (build.log as mkosi wrote it, colours included). For a running
// build, the log as far as it is written now.
import { getDb } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { buildQueue } from "@/server/builds/queue";
import { buildLogFile } from "@/server/builds/service";
import { logFileResponse, notFound, routeId } from "@/server/http/log-response";

export const dynamic = "force-dynamic";

export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await ctx.params;
  const n = routeId(id);
  if (n === undefined) return notFound(`build ${id} does not exist`);
  try {
    const { path, filename } = buildLogFile(buildQueue(getDb()), n);
    return await logFileResponse(path, filename, `build ${n} has no log (it never ran)`);
  } catch (e) {
    if (AppError.is(e) && e.code === "NOT_FOUND") return notFound(e.message);
    throw e;
  }
}
