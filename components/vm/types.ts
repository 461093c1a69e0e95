// The shapes the VMs API returns, as the router really types them.
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";

type Out = inferRouterOutputs<AppRouter>;

export type VmRun = Out["vms"]["get"];
export type VmCheckItem = VmRun["items"][number];
/** The newest boot check of a build, as build views carry it. */
export type BootCheckSummary = NonNullable<Out["builds"]["get"]["bootCheck"]>;
