import { mkosiVersion } from "@/server/host/facts";
import { identity } from "@/server/host/identity";
import { hostTools } from "@/server/host/tools";
import { importRoots } from "@/server/profiles/transfer";
import { procedure, router } from "./trpc";

export const hostRouter = router({
  facts: procedure.query(async ({ ctx }) => {
    const facts = ctx.host();
    return { osId: facts.osId, aptRepositories: facts.aptRepositories, mkosi: (await mkosiVersion()) ?? null, importRoots: importRoots(), identity: identity() };
  }),
  /** Which tools this machine has, their versions, and the command that installs what is missing (looked up once per server run). */
  tools: procedure.query(() => hostTools()),
  /** Looks the tools up again (after installing one) and returns the new answer. */
  refreshTools: procedure.mutation(() => hostTools({ refresh: true })),
});
