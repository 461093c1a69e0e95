import { z } from "zod";
import { buildQueue } from "@/server/builds/queue";
import { deleteArtifacts, keepNewest, spaceUsage } from "@/server/artifacts/space";
import { procedure, router } from "./trpc";

const positive = z.number().int().positive();

export const spaceRouter = router({
  /** Free space, and what each build and the shared cache take in the data folder. */
  usage: procedure.query(({ ctx }) => spaceUsage(buildQueue(ctx.db))),
  /** Removes one ended build's outputs (keeps its log and snapshot). */
  deleteArtifacts: procedure.input(z.object({ buildId: positive })).mutation(({ ctx, input }) => deleteArtifacts(buildQueue(ctx.db), input.buildId)),
  /** Deletes the outputs of all but the newest `keep` ended builds of a profile. */
  keepNewest: procedure
    .input(z.object({ profileId: positive, keep: z.number().int().min(0).max(10_000) }))
    .mutation(({ ctx, input }) => keepNewest(buildQueue(ctx.db), input.profileId, input.keep)),
});
