import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";
import type { HostFacts } from "@/server/mkosi/presets";
import { formatProblem, zodProblems, type Problem } from "@/server/mkosi/validate";

export interface Context {
  db: Db;
  host: () => HostFacts;
}

/**
 * Subscriptions (SSE) send a ping comment when quiet: a build step or a VM's boot can be
 * silent for minutes, and a client or proxy that sees no byte for that long drops the stream
 * (undici's fetch after 300 s). The browser's client reconnects (resuming from its last
 * tracked id) when it has heard nothing, not even a ping, for a while.
 */
export const SSE_OPTIONS = {
  ping: { enabled: true, intervalMs: 10_000 },
  client: { reconnectAfterInactivityMs: 45_000 },
} as const;

const t = initTRPC.context<Context>().create({
  sse: SSE_OPTIONS,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let problems: Problem[] = [];
    let details: Record<string, unknown> | undefined;
    if (AppError.is(cause)) ({ problems, details } = cause);
    else if (cause instanceof ZodError) problems = zodProblems(cause);
    // zod's own message is a JSON dump; say it the way the rest of the API does.
    const message = cause instanceof ZodError ? problems.map(formatProblem).join("; ") : shape.message;
    return { ...shape, message, data: { ...shape.data, problems, details } };
  },
});

// Module errors carry their own codes; give them to the client as tRPC errors.
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && AppError.is(result.error.cause)) {
    const cause = result.error.cause;
    throw new TRPCError({ code: cause.code === "PAYLOAD_TOO_LARGE" ? "PAYLOAD_TOO_LARGE" : cause.code, message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const procedure = t.procedure.use(appErrors);
export const createCallerFactory = t.createCallerFactory;
