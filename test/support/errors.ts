// The error a call that should fail failed with; the test fails when it succeeded instead.
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import { AppError } from "@/server/errors";

/** A tRPC caller's refusal. */
export async function failure(p: Promise<unknown>): Promise<TRPCError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "the call should have failed").toBeInstanceOf(TRPCError);
  return e as TRPCError;
}

/** A module's refusal (server/errors.ts), from a promise or a function. */
export async function appError(p: Promise<unknown> | (() => unknown)): Promise<AppError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (AppError.is(e)) return e;
    throw e;
  }
  throw new Error("expected an AppError");
}

/** The same for a synchronous function. */
export function appErrorSync(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (AppError.is(e)) return e;
    throw e;
  }
  throw new Error("expected an AppError");
}
