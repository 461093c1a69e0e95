import { z } from "zod";
import { buildQueue } from "@/server/builds/queue";
import { CONVERSION_FORMATS, conversions } from "@/server/artifacts/conversions";
import { inspectArtifact } from "@/server/artifacts/inspect";
import { listArtifacts } from "@/server/artifacts/list";
import { verifiedBoot } from "@/server/artifacts/verified-boot";
import { procedure, router } from "./trpc";

const positive = z.number().int().positive();
const build = z.object({ buildId: positive });
const name = z.string().min(1, "must name a file of the build's output folder").max(4096);

export const artifactsRouter = router({
  /** The build's output files; SHA-256 sums not yet known are "pending" and computed in the background. */
  list: procedure.input(build).query(({ ctx, input }) => listArtifacts(buildQueue(ctx.db), input.buildId)),
  /** Like list, but waits until every file's SHA-256 is known. */
  hash: procedure.input(build).mutation(({ ctx, input }) => listArtifacts(buildQueue(ctx.db), input.buildId, { wait: true })),
  /** A disk image's partition table, or a unified kernel image's sections and metadata. */
  inspect: procedure.input(build.extend({ name })).query(({ ctx, input }) => inspectArtifact(buildQueue(ctx.db), input.buildId, input.name)),
  /** Root hash, verity signature and its certificate, the UKI's signature (sbverify), the expected PCR 11 values. */
  verifiedBoot: procedure.input(build).query(({ ctx, input, signal }) => verifiedBoot(buildQueue(ctx.db), input.buildId, signal)),
  /** Starts (or joins, or reuses) a conversion of the raw disk image. */
  convert: procedure
    .input(
      build.extend({
        name,
        format: z.enum(CONVERSION_FORMATS, { error: () => `must be one of ${CONVERSION_FORMATS.join(", ")}` }),
      }),
    )
    .mutation(({ ctx, input }) => conversions(buildQueue(ctx.db)).convert(input.buildId, input.name, input.format)),
  /** Stops a running conversion; returns it once it has ended (cancelled, temporary file removed). */
  cancelConversion: procedure
    .input(z.object({ jobId: positive }))
    .mutation(({ ctx, input }) => conversions(buildQueue(ctx.db)).cancel(input.jobId)),
  /** The conversion jobs of a build, oldest first (kept until its outputs are deleted). */
  conversions: procedure.input(build).query(({ ctx, input }) => conversions(buildQueue(ctx.db)).list(input.buildId)),
  /** The build's conversion jobs now, then every change (progress at most about 10 per second per job). */
  conversionEvents: procedure.input(build).subscription(({ ctx, input, signal }) => {
    const m = conversions(buildQueue(ctx.db));
    m.list(input.buildId); // an unknown build is an error now, not in the stream
    return m.watch(input.buildId, signal);
  }),
});
