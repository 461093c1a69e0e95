// Text waiting to be written into a terminal. The stream (a subscription) pushes into it at
// whatever rate the server sends; the terminal takes from it once per animation frame. It lives
// outside the terminal so nothing is lost while the terminal's code is still loading, and it is
// bounded: the terminal keeps a bounded scrollback anyway, the full log stays downloadable.

/** Characters kept waiting at most; older waiting text is dropped beyond this. */
const DEFAULT_CAP = 8 * 1024 * 1024;

export const TRIMMED_NOTICE = "\x1b[0;33m[… earlier output skipped here to keep the page responsive: download the log for all of it]\x1b[0m\r\n";

export interface LogSinkListener {
  /** Text is waiting. */
  onData: () => void;
  /** Everything written so far is void (the stream started over): clear the screen. */
  onReset: () => void;
}

export class LogSink {
  private chunks: string[] = [];
  private waiting = 0;
  private trimmed = false;
  private listener: LogSinkListener | undefined;

  constructor(private readonly cap = DEFAULT_CAP) {}

  get size(): number {
    return this.waiting;
  }

  push(text: string): void {
    if (text === "") return;
    this.chunks.push(text);
    this.waiting += text.length;
    while (this.waiting > this.cap && this.chunks.length > 1) {
      this.waiting -= this.chunks.shift()!.length;
      this.trimmed = true;
    }
    this.listener?.onData();
  }

  /** Takes up to about `max` characters (whole chunks, at least one). */
  take(max: number): string {
    const out: string[] = [];
    if (this.trimmed) {
      out.push(TRIMMED_NOTICE);
      this.trimmed = false;
    }
    let n = 0;
    while (this.chunks.length > 0 && (n === 0 || n + this.chunks[0]!.length <= max)) {
      const c = this.chunks.shift()!;
      n += c.length;
      out.push(c);
    }
    this.waiting -= n;
    return out.join("");
  }

  reset(): void {
    this.chunks = [];
    this.waiting = 0;
    this.trimmed = false;
    this.listener?.onReset();
  }

  /** One terminal reads a sink at a time; returns the unsubscribe function. */
  listen(listener: LogSinkListener): () => void {
    this.listener = listener;
    if (this.waiting > 0) listener.onData();
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }
}
