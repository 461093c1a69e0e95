// Every child process the server starts is owned here, with an AbortController, so a cancel
// or a server shutdown stops it instead of leaving it behind.
import { execa, type Options, type Result } from "execa";

const running = new Map<number, { name: string; controller: AbortController }>();
let nextId = 1;

export interface RunOptions extends Pick<Options, "cwd" | "env" | "timeout"> {
  /** Aborting this also stops the child. */
  signal?: AbortSignal;
}

/** Runs a command (argument array, never a shell) to completion and returns its output. */
export async function runOwned(name: string, file: string, args: readonly string[], opts: RunOptions = {}): Promise<Result> {
  const controller = new AbortController();
  const id = nextId++;
  running.set(id, { name, controller });
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await execa(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      timeout: opts.timeout,
      cancelSignal: controller.signal,
      forceKillAfterDelay: 5_000,
      stdin: "ignore",
      reject: false,
      all: false,
    });
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    running.delete(id);
  }
}

export function runningProcesses(): { id: number; name: string }[] {
  return [...running].map(([id, p]) => ({ id, name: p.name }));
}

export function abortAll(reason = "server shutting down"): void {
  for (const p of running.values()) p.controller.abort(new Error(reason));
}

// Stop children with the server. Registered once even across Next's dev reloads.
const g = globalThis as { __imageStudioShutdownHook?: boolean };
if (!g.__imageStudioShutdownHook) {
  g.__imageStudioShutdownHook = true;
  for (const sig of ["SIGTERM", "SIGINT"] as const)
    process.once(sig, () => {
      abortAll();
      // Give children their kill delay, then leave with the conventional status.
      setTimeout(() => process.exit(128 + (sig === "SIGTERM" ? 15 : 2)), 200).unref();
    });
}
