import type { Problem } from "@/server/mkosi/validate";
import { formatProblem } from "@/server/mkosi/validate";

export type AppErrorCode = "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT" | "PRECONDITION_FAILED" | "PAYLOAD_TOO_LARGE" | "TOO_MANY_REQUESTS";

// instrumentation.ts and the route handlers are bundled apart, so a module (and this class)
// can exist twice in one server: errors are recognised by a registered symbol, not by class.
const BRAND = Symbol.for("image-studio.AppError");

/** An error meant for the user: a code the API maps to a status, and the fields at fault. */
export class AppError extends Error {
  readonly [BRAND] = true;

  static is(e: unknown): e is AppError {
    return typeof e === "object" && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true;
  }

  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly problems: Problem[] = [],
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
  }

  static invalid(problems: Problem[]): AppError {
    const head = problems.slice(0, 3).map(formatProblem).join("; ");
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
    return new AppError("BAD_REQUEST", `${head}${more}`, problems);
  }

  static field(path: Problem["path"], message: string, code: AppErrorCode = "BAD_REQUEST"): AppError {
    return new AppError(code, formatProblem({ path, message }), [{ path, message }]);
  }
}
