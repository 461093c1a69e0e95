// Where a text stream whose event ids are byte offsets (the build log, a VM's console) is up
// to on this page. A stream that starts over (a retry after an error, a resumed connection
// that overlaps) then yields only the part not shown yet, so nothing is doubled.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class StreamOffset {
  private end = 0;

  /** Bytes shown so far (the end offset of the last event taken). */
  get bytes(): number {
    return this.end;
  }

  /** The part of an event (id = byte offset after its text) not shown yet, "" for none. */
  take(id: string | undefined, text: string): string {
    const end = Number(id);
    if (!Number.isFinite(end) || end <= this.end) return "";
    const raw = encoder.encode(text);
    const start = end - raw.length;
    const fresh = start < this.end ? decoder.decode(raw.subarray(this.end - start)) : text;
    this.end = end;
    return fresh;
  }
}
