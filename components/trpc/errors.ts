// Reading the API's error shape (see server/routers/trpc.ts errorFormatter) on the client.
import { TRPCClientError } from "@trpc/client";
import type { Problem } from "@/server/mkosi/validate";
import type { AppRouter } from "@/server/routers";

export interface ApiError {
  message: string;
  code: string | undefined;
  problems: Problem[];
  details: Record<string, unknown> | undefined;
}

export function apiError(e: unknown): ApiError {
  if (e instanceof TRPCClientError) {
    const data = (e as TRPCClientError<AppRouter>).data;
    return { message: e.message, code: data?.code, problems: data?.problems ?? [], details: data?.details };
  }
  return { message: e instanceof Error ? e.message : String(e), code: undefined, problems: [], details: undefined };
}
