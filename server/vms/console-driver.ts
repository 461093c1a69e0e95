// Drives a VM's serial console like a person would: waits for text to appear, types, and
// runs shell commands whose output and exit status it reads back between two markers.
import { randomBytes } from "node:crypto";
import type { ProbeResult } from "./check-plan";

// CSI and OSC sequences, charset selections and keypad modes: colour, cursor moves, titles.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHM]/g;
/** An escape sequence that may continue in the next chunk. */
const ANSI_TAIL = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[()])?$/;

/** A terminal's cursor position query (DSR 6); systemd 257 sends it on the console to learn its size. */
const CURSOR_QUERY = /\x1b\[6n/g;
/**
 * What a terminal answers: a position, here that of a 50x160 screen. Unanswered, the query
 * swallows the next typed line as its reply (measured on Debian 13: docs/mkosi-notes.md,
 * "Verified boot").
 */
export const CURSOR_REPORT = "\x1b[50;160R";

export class ConsoleTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: nothing after ${Math.round(ms / 1000)} s`);
    this.name = "ConsoleTimeout";
  }
}

/** Plain text of console output: escape sequences and carriage returns removed. */
export function plainText(raw: string): string {
  return raw.replace(ANSI, "").replace(/\r/g, "");
}

export class ConsoleDriver {
  private text = "";
  /** Where the next search starts: text before it has been matched already. */
  private cursor = 0;
  private pendingRaw = "";
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly tag = randomBytes(3).toString("hex");
  private runs = 0;

  constructor(
    source: AsyncIterable<{ text: string }>,
    private readonly type: (data: string) => void,
    private readonly signal?: AbortSignal,
  ) {
    void (async () => {
      try {
        for await (const e of source) this.feed(e.text);
      } finally {
        this.ended = true;
        this.notify();
      }
    })();
  }

  private feed(raw: string): void {
    let s = this.pendingRaw + raw;
    const tail = ANSI_TAIL.exec(s);
    this.pendingRaw = tail ? tail[0] : "";
    if (tail) s = s.slice(0, tail.index);
    // Answered as a terminal would, each query once (a query cut between chunks waits in pendingRaw).
    for (const _ of s.matchAll(CURSOR_QUERY))
      try {
        this.type(CURSOR_REPORT);
      } catch {
        /* the VM is gone: nobody is asking any more */
      }
    this.text += plainText(s);
    // Keep memory flat over a long session: what was matched is not needed again.
    if (this.cursor > 1 << 20) {
      this.text = this.text.slice(this.cursor);
      this.cursor = 0;
    }
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until `re` matches text not matched before; moves past the match. */
  waitFor(re: RegExp, timeoutMs: number, what = `waiting for ${re}`): Promise<RegExpExecArray> {
    return this.match(re, "g", timeoutMs, what);
  }

  /** Whether the text right after the last match is `re` (waiting up to `timeoutMs` for it); moves past it if so. */
  async next(re: RegExp, timeoutMs: number): Promise<RegExpExecArray | null> {
    try {
      return await this.match(re, "y", timeoutMs, "");
    } catch (e) {
      if (e instanceof ConsoleTimeout) return null;
      throw e;
    }
  }

  private async match(re: RegExp, mode: "g" | "y", timeoutMs: number, what: string): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    const sticky = new RegExp(re.source, re.flags.replace(/[gy]/g, "") + mode);
    for (;;) {
      sticky.lastIndex = this.cursor;
      const m = sticky.exec(this.text);
      if (m) {
        this.cursor = m.index + m[0].length;
        return m;
      }
      if (this.signal?.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Error("stopped");
      if (this.ended) throw new Error(`${what}: the console closed (the VM stopped)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ConsoleTimeout(what, timeoutMs);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.signal?.removeEventListener("abort", done);
          if (this.wake === done) this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, left);
        this.signal?.addEventListener("abort", done, { once: true });
        this.wake = done;
      });
    }
  }

  /** The plain text seen so far (from the last megabyte trimmed away on long sessions). */
  seen(): string {
    return this.text;
  }

  send(data: string): void {
    this.type(data);
  }

  /**
   * Runs a shell command and returns what it printed and its exit status. The markers are
   * put together by the shell, so the echo of the typed line never matches them.
   */
  async run(command: string, timeoutMs: number): Promise<ProbeResult> {
    const n = `${this.tag}${++this.runs}`;
    this.send(`M=__IS${n}; echo "$M"_BEGIN; ${command}; echo "$M"_END_$?\n`);
    const m = await this.waitFor(new RegExp(`__IS${n}_BEGIN\\n([\\s\\S]*?)__IS${n}_END_(\\d+)\\n`), timeoutMs, `the command '${command}'`);
    return { output: m[1]!, status: Number(m[2]) };
  }
}
