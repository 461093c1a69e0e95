// Download of a VM run's serial console transcript (as far as it is written, while it runs).
import { getDb } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { logFileResponse, notFound, routeId } from "@/server/http/log-response";
import { vms } from "@/server/vms/service";

export const dynamic = "force-dynamic";

export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await ctx.params;
  const n = routeId(id);
  if (n === undefined) return notFound(`VM run ${id} does not exist`);
  try {
    const m = vms(getDb());
    const run = m.getRun(n);
    return await logFileResponse(m.logs.path(n), `build-${run.buildId}-vm-${n}-console.log`, `VM run ${n} has no console output`);
  } catch (e) {
    if (AppError.is(e) && e.code === "NOT_FOUND") return notFound(e.message);
    throw e;
  }
}
