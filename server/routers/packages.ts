import { z } from "zod";
import { buildQueue } from "@/server/builds/queue";
import { DEBIAN_PACKAGE } from "@/server/mkosi/settings";
import { buildManifest, manifestDiff } from "@/server/packages/manifest";
import { documentOf, packageIndexes } from "@/server/packages/service";
import { procedure, router } from "./trpc";

const positive = z.number().int().positive();
// A saved profile, or the editor's document (only its sources and packages matter here).
const scope = z.union([z.object({ profileId: positive }), z.object({ document: z.unknown() })]);
const packageName = z.string().regex(DEBIAN_PACKAGE.regex, `must be ${DEBIAN_PACKAGE.rule}`);

export const packagesRouter = router({
  /** The profile's package index: its sources, age, size, the last refresh's error, a refresh under way. */
  status: procedure.input(scope).query(({ ctx, input }) => packageIndexes(buildQueue(ctx.db)).status(documentOf(ctx.db, input))),
  /** Fetches the index with apt-get update (joins one under way); answers when it is done. */
  refresh: procedure.input(scope).mutation(({ ctx, input }) => packageIndexes(buildQueue(ctx.db)).refreshDocument(documentOf(ctx.db, input))),
  /** The index's status now, then at every change: a refresh's phase and apt's lines as they come. */
  watch: procedure.input(scope).subscription(({ ctx, input, signal }) => packageIndexes(buildQueue(ctx.db)).watch(documentOf(ctx.db, input), signal)),
  /** Search as you type: exact name, then names starting with q, then words of the descriptions. */
  search: procedure
    .input(z.intersection(scope, z.object({ q: z.string().max(100, "must be at most 100 characters"), limit: z.number().int().min(1).max(50).optional() })))
    .query(({ ctx, input }) => packageIndexes(buildQueue(ctx.db)).search(documentOf(ctx.db, input), input.q, input.limit)),
  /** How many packages and bytes adding `name` brings to the image, resolved by apt. */
  pullIn: procedure
    .input(z.intersection(scope, z.object({ name: packageName })))
    .query(({ ctx, input, signal }) => packageIndexes(buildQueue(ctx.db)).pullIn(documentOf(ctx.db, input), input.name, signal)),
  /** What a build installed (mkosi's JSON manifest), with sizes and what the profile asked for. */
  manifest: procedure.input(z.object({ buildId: positive })).query(({ ctx, input }) => buildManifest(buildQueue(ctx.db), input.buildId)),
  /** Packages added, removed and changed in version from build buildId to build againstBuildId. */
  manifestDiff: procedure
    .input(z.object({ buildId: positive, againstBuildId: positive }))
    .query(({ ctx, input }) => manifestDiff(buildQueue(ctx.db), input.buildId, input.againstBuildId)),
});
