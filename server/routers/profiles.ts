import { z } from "zod";
import type { ProfileRow } from "@/server/db/schema";
import { profileDocumentSchema } from "@/server/mkosi/profile";
import { checkWithMkosi } from "@/server/profiles/check";
import * as profiles from "@/server/profiles/service";
import { procedure, router } from "./trpc";

const id = z.object({ id: z.number().int().positive() });

// Dates as ISO strings: the API is plain JSON for curl users.
const out = (row: ProfileRow) => ({ ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() });

export const profilesRouter = router({
  list: procedure.query(({ ctx }) =>
    profiles.listProfiles(ctx.db).map((p) => ({ ...p, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() })),
  ),
  get: procedure.input(id).query(({ ctx, input }) => out(profiles.getProfile(ctx.db, input.id))),
  create: procedure
    .input(z.object({ name: z.string(), presetId: z.string().optional() }))
    .mutation(({ ctx, input }) => out(profiles.createProfile(ctx.db, input, ctx.host()))),
  save: procedure
    .input(z.object({ id: z.number().int().positive(), revision: z.number().int().positive(), document: profileDocumentSchema }))
    .mutation(({ ctx, input }) => out(profiles.saveProfile(ctx.db, input))),
  rename: procedure
    .input(id.extend({ name: z.string() }))
    .mutation(({ ctx, input }) => out(profiles.renameProfile(ctx.db, input.id, input.name))),
  duplicate: procedure
    .input(id.extend({ name: z.string().optional() }))
    .mutation(({ ctx, input }) => out(profiles.duplicateProfile(ctx.db, input.id, input.name))),
  /** Renders a document (or a saved profile, by id) into a temporary folder and lets mkosi parse it. */
  check: procedure
    .input(z.union([z.object({ document: profileDocumentSchema }), id]))
    .mutation(({ ctx, input, signal }) =>
      checkWithMkosi("document" in input ? input.document : profiles.getProfile(ctx.db, input.id).document, signal),
    ),
  delete: procedure.input(id).mutation(({ ctx, input }) => {
    profiles.deleteProfile(ctx.db, input.id);
    return { id: input.id };
  }),
});
