// Download of a profile as a plain mkosi project (.tar.gz), rendered for the installed mkosi.
import { getDb } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { mkosiVersion } from "@/server/host/facts";
import { DEFAULT_MKOSI_MAJOR } from "@/server/mkosi/render";
import { exportProfile } from "@/server/profiles/transfer";

export const dynamic = "force-dynamic";

const notFound = (id: string) => Response.json({ error: `profile ${id} does not exist` }, { status: 404 });

export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await ctx.params;
  const n = /^[1-9]\d{0,14}$/.test(id) ? Number(id) : undefined;
  if (n === undefined) return notFound(id);
  try {
    const major = (await mkosiVersion())?.major ?? DEFAULT_MKOSI_MAJOR;
    const { filename, buffer } = await exportProfile(getDb(), n, major);
    return new Response(new Uint8Array(buffer), {
      headers: {
        "Content-Type": "application/gzip",
        "Content-Disposition": `attachment; filename="${filename}"`,
        "Content-Length": String(buffer.length),
        "Cache-Control": "no-store",
      },
    });
  } catch (e) {
    if (AppError.is(e) && e.code === "NOT_FOUND") return notFound(id);
    throw e;
  }
}
