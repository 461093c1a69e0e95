// Server-sent events as an EventSource reads them (the WHATWG parsing rules that matter here:
// blocks end at a blank line, several `data:` lines join with "\n", one space after the colon
// is dropped). Shared by the tests and the benchmarks.

export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/** Parses one block (the lines between blank lines); undefined for a comment-only block. */
export function parseSseBlock(block: string): SseEvent | undefined {
  const e: SseEvent = { data: "" };
  const data: string[] = [];
  let any = false;
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    any = true;
    if (field === "data") data.push(value);
    else if (field === "event") e.event = value;
    else if (field === "id") e.id = value;
  }
  if (!any) return undefined;
  e.data = data.join("\n");
  return e;
}

/** The events of a stream, as they arrive, until it ends. */
export async function* sseEvents(body: NonNullable<Response["body"]>): AsyncGenerator<SseEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let m: RegExpExecArray | null;
      while ((m = /\r?\n\r?\n/.exec(buf))) {
        const block = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        const e = parseSseBlock(block);
        if (e) yield e;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Reads events until `stop` says so or the stream ends; then disconnects. */
export async function readSse(res: Response, stop: (e: SseEvent, all: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  if (!res.body) throw new Error(`no event stream: HTTP ${res.status}`);
  const all: SseEvent[] = [];
  for await (const e of sseEvents(res.body)) {
    all.push(e);
    if (stop(e, all)) break;
  }
  return all;
}

/** The text of log events (builds.log, vms.console: those with an id). */
export const logText = (events: SseEvent[]) =>
  events
    .filter((e) => e.id)
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join("");
