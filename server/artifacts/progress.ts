// Progress of the conversion tools.

/**
 * The last "(NN.NN/100%)" in a chunk of `qemu-img convert -p` output, as 0..1; undefined
 * when the chunk holds none. qemu-img rewrites the line with \r, so one chunk may hold several.
 */
export function parseQemuImgProgress(text: string): number | undefined {
  let last: number | undefined;
  for (const m of text.matchAll(/\((\d{1,3}(?:\.\d+)?)\/100%\)/g)) last = Number(m[1]);
  return last === undefined ? undefined : Math.min(1, Math.max(0, last / 100));
}

/** Calls `emit` at most every `ms`, always with the latest value; flush() sends a held one. */
export class Throttle<T> {
  private last = 0;
  private held: { v: T } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly emit: (v: T) => void,
  ) {}

  push(v: T): void {
    const now = Date.now();
    if (now - this.last >= this.ms && !this.timer) {
      this.last = now;
      this.emit(v);
      return;
    }
    this.held = { v };
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, Math.max(0, this.ms - (now - this.last)));
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const h = this.held;
    this.held = undefined;
    if (h) {
      this.last = Date.now();
      this.emit(h.v);
    }
  }

  /** Drops a held value (the final state is sent by the caller). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = undefined;
  }
}
