import { mkosiVersion } from "@/server/host/facts";
import { procedure, router } from "./trpc";

export const hostRouter = router({
  facts: procedure.query(async ({ ctx }) => {
    const facts = ctx.host();
    return { osId: facts.osId, aptRepositories: facts.aptRepositories, mkosi: (await mkosiVersion()) ?? null };
  }),
});
