import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getDb } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { ARCHIVE_LIMITS } from "@/server/profiles/archive";
import { appRouter } from "@/server/routers";

export const dynamic = "force-dynamic";

// The fetch adapter reads a whole body before validation; refuse an oversized upload first.
const MAX_BODY = ARCHIVE_LIMITS.archiveBytes + 1024 * 1024;

const handler = (req: Request) => {
  const length = Number(req.headers.get("content-length") ?? 0);
  if (length > MAX_BODY)
    return Response.json(
      { error: { message: `file: must be at most ${ARCHIVE_LIMITS.archiveBytes / 1024 / 1024} MiB`, code: -32600, data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413, problems: [{ path: ["file"], message: "too large" }] } } },
      { status: 413 },
    );
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => ({ db: getDb(), host: hostFacts }),
  });
};

export { handler as GET, handler as POST };
