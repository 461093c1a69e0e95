// The shapes the builds API returns, as the router really types them.
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";

type Out = inferRouterOutputs<AppRouter>["builds"];

export type BuildListItem = Out["list"][number];
export type BuildInfo = Out["get"];
export type BuildQueueInfo = Out["queue"];
export type BuildFile = Out["files"][number];
export type BuildFileDiff = Out["diff"][number];
