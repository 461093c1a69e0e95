// Shared by the builds integration tests: calling a subscription over tRPC's HTTP adapter (the
// SSE stream a browser's EventSource reads) and reading its events.
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { Context } from "@/server/routers/trpc";
import { appRouter } from "@/server/routers";

export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/** GET /api/trpc/<procedure> as an EventSource sends it, with Last-Event-ID on a reconnect. */
export function sse(ctx: Context, procedure: string, input: unknown, lastEventId?: string): Promise<Response> {
  const url = new URL(`http://studio.example.invalid/api/trpc/${procedure}`);
  url.searchParams.set("input", JSON.stringify(input));
  const req = new Request(url, { headers: lastEventId ? { "last-event-id": lastEventId } : {} });
  return fetchRequestHandler({ endpoint: "/api/trpc", req, router: appRouter, createContext: () => ctx });
}

/** Reads server-sent events until `stop` says so or the stream ends; then disconnects. */
export async function readSse(res: Response, stop: (e: SseEvent, all: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      buf += value;
      let sep: number;
      while ((sep = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const e: SseEvent = { data: "" };
        for (const line of block.split("\n")) {
          const m = /^(\w+): ?(.*)$/.exec(line);
          if (!m) continue;
          if (m[1] === "data") e.data += m[2];
          else if (m[1] === "event") e.event = m[2];
          else if (m[1] === "id") e.id = m[2];
        }
        events.push(e);
        if (stop(e, events)) return events;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** The log text of builds.log events (those with an id). */
export const logText = (events: SseEvent[]) =>
  events
    .filter((e) => e.id)
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join("");
