import { tracked } from "@trpc/server";
import { z } from "zod";
import { BUILD_STATES } from "@/server/db/schema";
import { buildQueue } from "@/server/builds/queue";
import * as builds from "@/server/builds/service";
import { procedure, router } from "./trpc";

const positive = z.number().int().positive();
const id = z.object({ id: positive });

export const buildsRouter = router({
  /** Checks the host and the confirmation of the profile's scripts, snapshots its files and queues a build of it. */
  start: procedure
    .input(
      z.object({
        profileId: positive,
        incremental: z.boolean().optional(),
        trustScripts: z.string().regex(/^[0-9a-f]{64}$/, "must be the digest (64 hex digits) that a refusal of this build named").optional(),
      }),
    )
    .mutation(({ ctx, input }) => builds.startBuild(buildQueue(ctx.db), input)),
  /** Removes a queued build from the queue, or stops a running one (returns once it has ended). */
  cancel: procedure.input(id).mutation(({ ctx, input }) => builds.cancelBuild(buildQueue(ctx.db), input.id)),
  list: procedure
    .input(
      z
        .object({
          profileId: positive.optional(),
          state: z.enum(BUILD_STATES).optional(),
          beforeId: positive.optional(),
          limit: z.number().int().min(1).max(500).optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => builds.listBuilds(buildQueue(ctx.db), input)),
  get: procedure.input(id).query(({ ctx, input }) => builds.getBuild(buildQueue(ctx.db), input.id)),
  queue: procedure.query(({ ctx }) => builds.queueView(buildQueue(ctx.db))),
  /** The files the build was built from. */
  files: procedure.input(id).query(({ ctx, input }) => builds.buildFiles(buildQueue(ctx.db), input.id)),
  /** Per file, the unified diff that turns the build's files into those of `against`. */
  diff: procedure
    .input(id.extend({ against: z.union([z.object({ buildId: positive }), z.object({ profile: z.literal(true) })]) }))
    .query(({ ctx, input }) => builds.diffBuild(buildQueue(ctx.db), input.id, input.against)),
  /**
   * The build's log as text events, live while it runs. Each event's id is the byte offset
   * after it; a reconnecting client sends the last one as lastEventId and gets the rest.
   */
  log: procedure
    .input(id.extend({ lastEventId: z.string().regex(/^\d{1,15}$/, "must be the id of an earlier event").nullish() }))
    .subscription(({ ctx, input, signal }) => {
      // Checked before streaming starts, so a bad id or offset is a proper API error.
      const events = builds.followLog(buildQueue(ctx.db), input.id, input.lastEventId ? Number(input.lastEventId) : 0, signal);
      return (async function* () {
        for await (const e of events) yield tracked(String(e.offset), { text: e.text });
      })();
    }),
  /** State and step changes: of one build (ends with its final state), or of all builds. */
  events: procedure
    .input(z.object({ id: positive.optional() }).optional())
    .subscription(({ ctx, input, signal }) => builds.watchBuilds(buildQueue(ctx.db), input?.id, signal)),
});
