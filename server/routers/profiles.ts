import { z } from "zod";
import type { ProfileRow } from "@/server/db/schema";
import { buildQueue } from "@/server/builds/queue";
import { packageIndexes } from "@/server/packages/service";
import { createProfileWithKey, saveProfileWithKey } from "@/server/keys/profiles";
import { validateWithMkosi } from "@/server/profiles/validate";
import { ARCHIVE_LIMITS } from "@/server/profiles/archive";
import * as profiles from "@/server/profiles/service";
import * as transfer from "@/server/profiles/transfer";
import { procedure, router } from "./trpc";

const id = z.object({ id: z.number().int().positive() });

// An upload: multipart form data with the archive in `file` and an optional profile `name`.
const importForm = z.instanceof(FormData).transform((form, ctx) => {
  const file = form.get("file");
  const name = form.get("name");
  if (!(file instanceof File)) {
    ctx.addIssue({ code: "custom", path: ["file"], message: "must be an uploaded .tar.gz, .tar or .zip file" });
    return z.NEVER;
  }
  if (file.size > ARCHIVE_LIMITS.archiveBytes) {
    ctx.addIssue({ code: "custom", path: ["file"], message: `must be at most ${ARCHIVE_LIMITS.archiveBytes / 1024 / 1024} MiB` });
    return z.NEVER;
  }
  if (name !== null && typeof name !== "string") {
    ctx.addIssue({ code: "custom", path: ["name"], message: "must be text" });
    return z.NEVER;
  }
  return { file, name: name?.trim() ? name : undefined };
});

// Dates as ISO strings: the API is plain JSON for curl users.
const out = (row: ProfileRow) => ({ ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() });

export const profilesRouter = router({
  list: procedure.query(({ ctx }) =>
    profiles.listProfiles(ctx.db).map((p) => ({ ...p, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() })),
  ),
  get: procedure.input(id).query(({ ctx, input }) => out(profiles.getProfile(ctx.db, input.id))),
  create: procedure
    .input(z.object({ name: z.string(), presetId: z.string().optional() }))
    .mutation(async ({ ctx, input }) => out(await createProfileWithKey(ctx.db, buildQueue(ctx.db).dataDir, input, ctx.host()))),
  save: procedure
    // The document is checked by the module, so problems carry document paths (settings.Packages.2).
    .input(z.object({ id: z.number().int().positive(), revision: z.number().int().positive(), document: z.unknown() }))
    .mutation(async ({ ctx, input }) => out(await saveProfileWithKey(ctx.db, buildQueue(ctx.db).dataDir, input))),
  rename: procedure
    .input(id.extend({ name: z.string() }))
    .mutation(({ ctx, input }) => out(profiles.renameProfile(ctx.db, input.id, input.name))),
  duplicate: procedure
    .input(id.extend({ name: z.string().optional() }))
    .mutation(({ ctx, input }) => out(profiles.duplicateProfile(ctx.db, input.id, input.name))),
  /** Renders a document (or a saved profile, by id) into a temporary folder and lets mkosi parse it. */
  validate: procedure
    .input(z.union([z.object({ document: z.unknown() }), id]))
    .mutation(({ ctx, input, signal }) =>
      validateWithMkosi("document" in input ? input.document : profiles.getProfile(ctx.db, input.id).document, signal, {
        packages: async (doc, s) => (await packageIndexes(buildQueue(ctx.db)).check(doc, s)).problems,
      }),
    ),
  importArchive: procedure.input(importForm).mutation(async ({ ctx, input }) => {
    const r = await transfer.importArchive(ctx.db, Buffer.from(await input.file.arrayBuffer()), input.name);
    return { profile: out(r.profile), notes: r.notes, problems: r.problems };
  }),
  importFolder: procedure
    .input(z.object({ path: z.string().min(1), name: z.string().optional() }))
    .mutation(async ({ ctx, input }) => {
      const r = await transfer.importFolder(ctx.db, input.path, input.name);
      return { profile: out(r.profile), notes: r.notes, problems: r.problems };
    }),
  delete: procedure.input(id).mutation(({ ctx, input }) => {
    profiles.deleteProfile(ctx.db, input.id);
    return { id: input.id };
  }),
});
