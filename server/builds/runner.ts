// Runs a command under a pseudo-terminal (server/builds/pty-run.py) so it writes its own
// colours, and hands every byte it prints to a sink as it arrives. Generic: a build runs mkosi
// through it, the tests run scripts of their own.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startOwned } from "@/server/processes/registry";

/** The terminal mkosi writes to: xterm on the page renders the same width. */
export const PTY_COLS = 160;
export const PTY_ROWS = 50;
/** Between the stop request (SIGTERM to the command's group) and SIGKILL of everything left. */
export const CANCEL_GRACE_MS = 8_000;

// Resolved at run time from the working folder, like the migrations; the bundler must not trace it.
export const PTY_HELPER = resolve(
  /*turbopackIgnore: true*/ process.env.IMAGE_STUDIO_PTY_HELPER ?? join(process.cwd(), "server", "builds", "pty-run.py"),
);

/** mkosi's own interpreter (its shebang): always there when mkosi is, with only the stdlib needed. */
export function python(): string {
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

export interface PtyRunOptions {
  /** Shown in the process registry. */
  name: string;
  argv: readonly string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Receives every byte in order; the next chunk is read only once its promise resolves. */
  onOutput: (chunk: Uint8Array) => Promise<void> | void;
  /** Called with the helper's pid once it runs. */
  onStart?: (pid: number) => void;
  /** Aborting stops the command and everything under it. */
  signal?: AbortSignal;
  graceMs?: number;
}

export interface PtyRunResult {
  /** The command's exit status (128+N when killed by signal N); null when it never ran. */
  exitCode: number | null;
  /** The stop was asked for through `signal`. */
  stopped: boolean;
  /** Why it could not run at all, if so. */
  failure?: string;
  durationMs: number;
}

/** Environment for the command: a terminal type, and the sbin folders mkfs.* live in. */
export function ptyEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const path = (process.env.PATH ?? "/usr/bin:/bin").split(":");
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!path.includes(d)) path.push(d);
  return { ...process.env, TERM: "xterm-256color", COLORTERM: undefined, PATH: path.join(":"), ...extra };
}

export async function runUnderPty(opts: PtyRunOptions): Promise<PtyRunResult> {
  const started = Date.now();
  const grace = opts.graceMs ?? CANCEL_GRACE_MS;
  const args = [PTY_HELPER, "--cols", String(PTY_COLS), "--rows", String(PTY_ROWS), "--grace", String(grace / 1000), "--", ...opts.argv];
  // Stopped by the caller, or by us when the sink fails (a full disk): the command must not
  // go on unrecorded.
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const child = startOwned(opts.name, python(), args, {
    cwd: opts.cwd,
    env: ptyEnv(opts.env),
    signal: stop.signal,
    // The helper does the escalation itself; SIGKILL to it is the last resort.
    forceKillAfterMs: grace + 4_000,
    // Its own session: a restarted server can find it by pid, and the terminal's signals
    // (Ctrl-C of `next dev`) reach it only through the server's orderly shutdown.
    detached: true,
  });
  if (child.pid !== undefined) opts.onStart?.(child.pid);

  // stderr carries the helper's own complaints (it could not start the command): log them too.
  let queue: Promise<void> = Promise.resolve();
  let sinkError: unknown;
  const pump = async (stream: AsyncIterable<Uint8Array>) => {
    for await (const chunk of stream) {
      if (sinkError !== undefined) continue; // keep reading so the command is not blocked while it stops
      try {
        // One chain, so chunks from stdout and stderr reach the sink one at a time.
        queue = queue.then(() => opts.onOutput(chunk));
        await queue;
      } catch (e) {
        sinkError = e;
        queue = Promise.resolve();
        stop.abort(e);
      }
    }
  };
  const [out, err, done] = await Promise.allSettled([pump(child.stdout), pump(child.stderr), child.done]);
  opts.signal?.removeEventListener("abort", onAbort);
  const result = done.status === "fulfilled" ? done.value : undefined;
  const stopped = opts.signal?.aborted ?? false;
  const failure =
    (sinkError !== undefined ? `the output could not be recorded: ${errorText(sinkError)}` : undefined) ??
    result?.failure ??
    (out.status === "rejected" ? errorText(out.reason) : err.status === "rejected" ? errorText(err.reason) : undefined);
  let exitCode: number | null = result?.exitCode ?? null;
  // Killed itself (the last-resort SIGKILL): report it the way the helper reports a killed command.
  if (exitCode === null && result?.signal) exitCode = 128 + (SIGNALS[result.signal] ?? 0);
  return { exitCode, stopped, failure: exitCode === null ? (failure ?? "the command did not run") : failure, durationMs: Date.now() - started };
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
