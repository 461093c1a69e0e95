import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getDb } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { appRouter } from "@/server/routers";

export const dynamic = "force-dynamic";

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => ({ db: getDb(), host: hostFacts }),
  });

export { handler as GET, handler as POST };
