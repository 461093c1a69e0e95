// The dashboard's API over HTTP, as curl or a script uses it: every request carries the token
// as `Authorization: Bearer`. One client for the tests and the benchmarks.
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";
import { sseEvents, type SseEvent } from "./sse";

export type Inputs = inferRouterInputs<AppRouter>;
export type Outputs = inferRouterOutputs<AppRouter>;
export type BuildDetail = Outputs["builds"]["get"];

/** A refused call: its HTTP status and the error tRPC sent (message, code, problems, details). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }

  /** error.data of tRPC's answer: code, httpStatus, problems, details. */
  get data(): { code?: string; httpStatus?: number; problems?: { path: (string | number)[]; message: string }[]; details?: Record<string, unknown> } {
    return ((this.body as { error?: { data?: unknown } } | undefined)?.error?.data ?? {}) as ApiError["data"];
  }
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled", "interrupted"]);

export class Api {
  constructor(
    /** http://127.0.0.1:<port>, no trailing slash. */
    readonly base: string,
    readonly token: string,
  ) {}

  /** fetch with the token; `path` starts with "/". */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${this.token}`);
    return fetch(`${this.base}${path}`, { ...init, headers });
  }

  private async unwrap<T>(path: string, r: Response): Promise<T> {
    const text = await r.text();
    let body: { result?: { data: T }; error?: { message?: string } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      /* not JSON */
    }
    if (!r.ok || !body?.result) throw new ApiError(`${path}: ${body?.error?.message ?? `HTTP ${r.status} ${text.slice(0, 200)}`}`, r.status, body);
    return body.result.data;
  }

  async query<T>(path: string, input?: unknown): Promise<T> {
    const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return this.unwrap<T>(path, await this.fetch(`/api/trpc/${path}${q}`));
  }

  async mutation<T>(path: string, input?: unknown): Promise<T> {
    const init: RequestInit = { method: "POST", headers: { "content-type": "application/json" } };
    if (input !== undefined) init.body = JSON.stringify(input);
    return this.unwrap<T>(path, await this.fetch(`/api/trpc/${path}`, init));
  }

  /** A refused call's error (fails the test when the call succeeds). */
  async refusal(call: Promise<unknown>): Promise<ApiError> {
    const e = await call.then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(e instanceof ApiError)) throw new Error(`the call should have been refused${e ? `, but: ${String(e)}` : ""}`);
    return e;
  }

  /** GET of a subscription as an EventSource sends it (Last-Event-ID on a reconnect). */
  sse(path: string, input: unknown, lastEventId?: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    return this.fetch(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers, signal });
  }

  /**
   * A subscription's events until the stream ends or `signal` aborts. tRPC's own events
   * (connected, ping) carry an `event` name; data events have none.
   */
  async *subscribe(path: string, input: unknown, signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await this.sse(path, input, undefined, signal);
    if (!res.ok || !res.body) throw new ApiError(`${path}: HTTP ${res.status} ${await res.text().catch(() => "")}`, res.status, undefined);
    for await (const e of sseEvents(res.body)) {
      if (e.event === "return") return;
      if (e.event === "serialized-error") throw new Error(`${path}: ${e.data}`);
      yield e;
    }
  }

  /**
   * Follows a build through builds.events (which ends with its final state) and returns that
   * state. `onChange` sees every state and step change.
   */
  async waitForBuild(id: number, onChange?: (b: BuildDetail) => void, signal?: AbortSignal): Promise<BuildDetail> {
    let last: BuildDetail | undefined;
    for await (const e of this.subscribe("builds.events", { id }, signal)) {
      if (e.event) continue;
      last = JSON.parse(e.data) as BuildDetail;
      onChange?.(last);
      if (FINISHED.has(last.state)) return last;
    }
    // The stream ended without a final state (a dropped connection): ask once more.
    last = await this.query<BuildDetail>("builds.get", { id });
    if (!FINISHED.has(last.state)) throw new Error(`build ${id}: the events stream ended while the build was ${last.state}`);
    return last;
  }
}
