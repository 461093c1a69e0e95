// Every child process the server starts is owned here, with an AbortController, so a cancel
// or a server shutdown stops it instead of leaving it behind.
import { execa, type Options, type Result } from "execa";
import type { Readable } from "node:stream";

interface Owned {
  name: string;
  controller: AbortController;
  /** Settles when the process has ended. */
  ended: Promise<unknown>;
}

// On globalThis, like the shutdown hook below: after a Next dev reload the hook registered by
// the first module instance must still see the processes started by the new one.
const shared = globalThis as { __imageStudioProcesses?: { running: Map<number, Owned>; nextId: number } };
const state = (shared.__imageStudioProcesses ??= { running: new Map(), nextId: 1 });
const running = state.running;

export interface RunOptions extends Pick<Options, "cwd" | "env" | "extendEnv" | "timeout"> {
  /** Aborting this also stops the child. */
  signal?: AbortSignal;
}

function own(name: string, signal: AbortSignal | undefined) {
  const controller = new AbortController();
  const id = state.nextId++;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    controller,
    register: (ended: Promise<unknown>) => running.set(id, { name, controller, ended }),
    release: () => {
      signal?.removeEventListener("abort", onAbort);
      running.delete(id);
    },
  };
}

/** Runs a command (argument array, never a shell) to completion and returns its output. */
export async function runOwned(name: string, file: string, args: readonly string[], opts: RunOptions = {}): Promise<Result> {
  const o = own(name, opts.signal);
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.extendEnv,
    timeout: opts.timeout,
    cancelSignal: o.controller.signal,
    forceKillAfterDelay: 5_000,
    stdin: "ignore",
    reject: false,
    all: false,
  });
  o.register(child);
  try {
    return await child;
  } finally {
    o.release();
  }
}

export interface StreamOptions extends Pick<Options, "cwd" | "env"> {
  /** Aborting this stops the child: SIGTERM, then SIGKILL after forceKillAfterMs. */
  signal?: AbortSignal;
  /** Time a child gets between SIGTERM and SIGKILL (its own cleanup time). */
  forceKillAfterMs?: number;
  /** Starts the child in a session of its own (its own process group). */
  detached?: boolean;
  /** Fed to the child's stdin (e.g. a file through a byte counter); default: no stdin. */
  stdin?: Readable;
}

export interface OwnedStream {
  /** undefined when the process could not be started (done then tells why). */
  pid: number | undefined;
  /** Raw bytes the child writes; read them, or the child blocks (that is the back-pressure). */
  stdout: Readable;
  stderr: Readable;
  done: Promise<{ exitCode: number | undefined; signal: string | undefined; failure: string | undefined }>;
}

/**
 * Starts a long-running command whose output the caller reads as it comes (no buffering in
 * memory). The child is stopped on abort of `signal` and on server shutdown.
 */
export function startOwned(name: string, file: string, args: readonly string[], opts: StreamOptions = {}): OwnedStream {
  const o = own(name, opts.signal);
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    cancelSignal: o.controller.signal,
    forceKillAfterDelay: opts.forceKillAfterMs ?? 5_000,
    detached: opts.detached ?? false,
    // A stream without a file descriptor is piped in by execa (it refuses it as a bare value).
    stdin: opts.stdin ? [opts.stdin, "pipe"] : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    encoding: "buffer",
    reject: false,
  });
  const done = child.then((r) => ({
    exitCode: r.exitCode,
    signal: r.signal,
    failure: r.failed && r.exitCode === undefined && !r.isCanceled && !r.signal ? r.shortMessage : undefined,
  }));
  o.register(done);
  void done.finally(o.release);
  return { pid: child.pid, stdout: child.stdout, stderr: child.stderr, done };
}

export function abortAll(reason = "server shutting down"): void {
  for (const p of running.values()) p.controller.abort(new Error(reason));
}

/** Resolves when every owned process has ended (and `also` has settled), or after `ms`. */
export async function allEnded(ms: number, also: readonly Promise<unknown>[] = []): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...[...running.values()].map((p) => p.ended), ...also]),
    new Promise((r) => (timer = setTimeout(r, ms))),
  ]);
  clearTimeout(timer);
}

/** May return what the server's exit must wait for (a build writing how it ended into its log). */
type ShutdownHook = () => void | Promise<unknown>;
const g = globalThis as { __imageStudioShutdownHook?: boolean; __imageStudioShutdownHooks?: Set<ShutdownHook> };
const hooks = (g.__imageStudioShutdownHooks ??= new Set());

/**
 * Runs `hook` (synchronously) when the server is told to stop, before its children are
 * stopped, and at process exit. Returns a function that removes it.
 */
export function onShutdown(hook: ShutdownHook): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

function runHooks(): Promise<unknown>[] {
  const waits: Promise<unknown>[] = [];
  for (const h of [...hooks]) {
    hooks.delete(h);
    try {
      const w = h();
      if (w) waits.push(w);
    } catch (e) {
      console.error("shutdown hook failed:", e);
    }
  }
  return waits;
}

// Stop children with the server. Registered once even across Next's dev reloads.
if (!g.__imageStudioShutdownHook) {
  g.__imageStudioShutdownHook = true;
  process.once("exit", () => void runHooks());
  let stopping = false;
  for (const sig of ["SIGTERM", "SIGINT"] as const)
    // `on`, not `once`: execa's exit handler (signal-exit) re-raises a signal it finds no other
    // listener for, which would end the process before the children's cleanup time.
    process.on(sig, () => {
      const status = 128 + (sig === "SIGTERM" ? 15 : 2);
      // A second signal while waiting: leave now.
      if (stopping) process.exit(status);
      stopping = true;
      const waits = runHooks();
      abortAll();
      // Children get their own cleanup time (a build stops mkosi and all under it, up to
      // about 10 s), and what the hooks wait for after them (a build's closing log line comes
      // once its processes have ended: exiting on their end alone could lose it); then leave
      // with the conventional status.
      void allEnded(12_000, waits).then(() => process.exit(status));
    });
}
