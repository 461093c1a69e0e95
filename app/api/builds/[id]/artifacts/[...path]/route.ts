// Download of one file of a build's output folder: Range, HEAD, ETag; anything outside that
// folder answers 404 (server/artifacts/download.ts).
import { getDb } from "@/server/db/client";
import { buildQueue } from "@/server/builds/queue";
import { serveArtifact } from "@/server/artifacts/download";

export const dynamic = "force-dynamic";

interface Ctx {
  params: Promise<{ id: string; path: string[] }>;
}

async function handler(req: Request, ctx: Ctx): Promise<Response> {
  const { id, path } = await ctx.params;
  // Next writes each chunk into the socket before it reads the next (see ServeOptions).
  return serveArtifact(req, buildQueue(getDb()), id, path ?? [], { reuseBuffers: true });
}

export { handler as GET, handler as HEAD };
