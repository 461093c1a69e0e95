import { z } from "zod";
import { buildQueue } from "@/server/builds/queue";
import * as keys from "@/server/keys/store";
import { procedure, router } from "./trpc";

const id = z.object({ id: z.string() });
// A PEM key or certificate is a few KiB; far more is not one.
const pem = z.string().max(64 * 1024, "must be at most 64 KiB of PEM text");

/** The key store. Answers carry certificates' facts and file paths, never a private key. */
export const keysRouter = router({
  list: procedure.query(({ ctx }) => keys.listKeys(ctx.db, buildQueue(ctx.db).dataDir)),
  get: procedure.input(id).query(({ ctx, input }) => keys.getKey(ctx.db, buildQueue(ctx.db).dataDir, input.id)),
  generate: procedure
    .input(z.object({ id: z.string(), commonName: z.string().optional(), days: z.number().int().optional() }))
    .mutation(({ ctx, input, signal }) => keys.generateKey(ctx.db, buildQueue(ctx.db).dataDir, input, signal)),
  import: procedure
    .input(z.object({ id: z.string(), key: pem, certificate: pem }))
    .mutation(({ ctx, input }) => keys.importKey(ctx.db, buildQueue(ctx.db).dataDir, input)),
  delete: procedure.input(id).mutation(({ ctx, input }) => keys.deleteKey(ctx.db, buildQueue(ctx.db).dataDir, input.id)),
});
