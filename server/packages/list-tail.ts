// Reads Packages lists while apt-get update writes them. apt decompresses each list into a
// temporary file in lists/partial/ as it downloads (`<list name>.XXXXXX`), then checks its
// hashes and renames it into lists/: the very file, so a list read while it was written is
// the verified list when its inode and size are those of the file now in lists/. Its stanzas
// are parsed as they arrive, on the core apt's download leaves free, and handed over batch by
// batch; the caller keeps a list's only if finish() names the file they came from.
import { watch, type FSWatcher } from "node:fs";
import { open, readdir, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { parsePackages, type PackageStanza } from "./control";

// mkstemp's six characters after the list's name; the downloads themselves end in .xz, .gz ...
const TEMP = /^(.+_Packages)\.[A-Za-z0-9]{6}$/;
const CHUNK = 1 << 20;

/** Called with each batch of whole stanzas as they are parsed: `source` is apt's temporary file they are from. */
export type OnStanzas = (source: string, list: string, stanzas: PackageStanza[]) => void;

interface Tailed {
  name: string;
  list: string;
  file: FileHandle | null;
  offset: number;
  /** What is read into; its first `rest` bytes are those after the last whole stanza. */
  buf: Buffer;
  rest: number;
  failed: boolean;
}

/**
 * After an event the folder is read, and watched again this long after. apt writes a list in
 * pieces of a few KB: an event for each (some 12,500 in a Debian main list) made apt take about
 * a fifth longer on two cores, while a watch that is dropped at the first event and set again
 * after a read and this pause makes some 80 wake-ups, and apt's time is unchanged.
 */
const PACE_MS = 10;

export class ListTail {
  private readonly tailed = new Map<string, Tailed>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The reading under way, one at a time: a look at the folder, then every list to its end. */
  private reading: Promise<void> = Promise.resolve();

  /** Watches `partialDir` for the lists named in `lists` (their file names in lists/). */
  constructor(
    private readonly partialDir: string,
    private readonly lists: ReadonlySet<string>,
    private readonly onStanzas: OnStanzas,
  ) {
    this.arm();
  }

  private arm(): void {
    this.timer = null;
    if (this.closed) return;
    let w: FSWatcher;
    try {
      w = watch(this.partialDir, { persistent: false }, () => {
        if (this.watcher !== w) return;
        this.unwatch();
        this.reading = this.reading
          .then(() => this.read())
          .then(() => {
            if (!this.closed) this.timer = setTimeout(() => this.arm(), PACE_MS);
          });
      });
    } catch {
      // No partial folder, no early reading: the lists are read after apt as before.
      return;
    }
    w.on("error", () => undefined);
    this.watcher = w;
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Starts on the lists' temporary files that appeared, and reads each list to its end. */
  private async read(): Promise<void> {
    for (const name of await readdir(this.partialDir).catch(() => [] as string[])) {
      const list = TEMP.exec(name)?.[1];
      if (this.tailed.has(name) || !list || !this.lists.has(list)) continue;
      const entry: Tailed = { name, list, file: null, offset: 0, buf: Buffer.allocUnsafe(2 * CHUNK), rest: 0, failed: false };
      this.tailed.set(name, entry);
      // Gone already (apt was quicker): the list is read from lists/ after apt.
      entry.file = await open(join(this.partialDir, name), "r").catch(() => ((entry.failed = true), null));
    }
    for (const t of this.tailed.values()) await this.pump(t);
  }

  /** Reads what apt has written since, and parses the whole stanzas in it. */
  private async pump(t: Tailed, last = false): Promise<void> {
    if (t.failed || !t.file) return;
    try {
      // One buffer per list, read into after the bytes of the stanza cut at its end: a new
      // megabyte per read would make V8 collect for the external memory every few reads.
      for (;;) {
        if (t.rest + CHUNK > t.buf.length) {
          const grown = Buffer.allocUnsafe(2 * (t.rest + CHUNK));
          t.buf.copy(grown, 0, 0, t.rest);
          t.buf = grown;
        }
        const { bytesRead } = await t.file.read(t.buf, t.rest, CHUNK, t.offset);
        if (bytesRead === 0) break;
        t.offset += bytesRead;
        const end = t.rest + bytesRead;
        const cut = t.buf.subarray(0, end).lastIndexOf("\n\n");
        if (cut < 0) {
          t.rest = end;
          continue;
        }
        this.took(t, [...parsePackages(t.buf.subarray(0, cut + 2))]);
        t.buf.copy(t.buf, 0, cut + 2, end);
        t.rest = end - (cut + 2);
      }
      if (last && t.rest) {
        this.took(t, [...parsePackages(t.buf.subarray(0, t.rest))]);
        t.rest = 0;
      }
    } catch {
      t.failed = true;
    }
  }

  private took(t: Tailed, batch: PackageStanza[]): void {
    if (batch.length) this.onStanzas(t.name, t.list, batch);
  }

  /**
   * Once apt has its lists in place: for each list whose file in `listsDir` is one that was
   * read whole while apt wrote it, that file's name (the `source` its stanzas came with). Stops
   * watching.
   */
  async finish(listsDir: string): Promise<Map<string, string>> {
    this.closed = true;
    this.unwatch();
    const out = new Map<string, string>();
    try {
      await this.reading;
      for (const t of this.tailed.values()) {
        await this.pump(t, true);
        if (t.failed || !t.file) continue;
        const [mine, final] = await Promise.all([t.file.stat(), stat(join(listsDir, t.list)).catch(() => null)]);
        if (final && mine.ino === final.ino && mine.dev === final.dev && final.size === t.offset) out.set(t.list, t.name);
      }
    } finally {
      await Promise.all([...this.tailed.values()].map((t) => t.file?.close().catch(() => undefined)));
      this.tailed.clear();
    }
    return out;
  }
}
