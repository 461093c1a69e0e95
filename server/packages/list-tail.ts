// Reads Packages lists while apt-get update writes them. apt decompresses each list into a
// temporary file in lists/partial/ as it downloads (`<list name>.XXXXXX`), then checks its
// hashes and renames it into lists/: the very file, so a list read while it was written is
// the verified list when its inode and size are those of the file now in lists/. Its stanzas
// are parsed as they arrive, on the core apt's download leaves free, and not after apt ends.
import { watch, type FSWatcher } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { parsePackages, type PackageStanza } from "./control";

// mkstemp's six characters after the list's name; the downloads themselves end in .xz, .gz ...
const TEMP = /^(.+_Packages)\.[A-Za-z0-9]{6}$/;
const CHUNK = 1 << 20;

interface Tailed {
  list: string;
  file: FileHandle | null;
  offset: number;
  /** Bytes after the last whole stanza. */
  rest: Buffer;
  stanzas: PackageStanza[];
  /** The reads under way, one after another; `queued` when one more is to come (writes come faster than reads). */
  pumping: Promise<void>;
  queued: boolean;
  failed: boolean;
}

export class ListTail {
  private readonly tailed = new Map<string, Tailed>();
  private readonly watcher: FSWatcher | null;

  /** Watches `partialDir` for the lists named in `lists` (their file names in lists/). */
  constructor(
    private readonly partialDir: string,
    private readonly lists: ReadonlySet<string>,
  ) {
    let w: FSWatcher | null = null;
    try {
      w = watch(partialDir, { persistent: false }, (_event, name) => name && this.seen(String(name)));
      w.on("error", () => undefined);
    } catch {
      // No partial folder, no early reading: the lists are read after apt as before.
    }
    this.watcher = w;
  }

  private seen(name: string): void {
    const t = this.tailed.get(name);
    if (t) {
      if (t.queued) return;
      t.queued = true;
      t.pumping = t.pumping.then(() => {
        t.queued = false;
        return this.pump(t);
      });
      return;
    }
    const list = TEMP.exec(name)?.[1];
    if (!list || !this.lists.has(list)) return;
    const entry: Tailed = { list, file: null, offset: 0, rest: Buffer.alloc(0), stanzas: [], pumping: Promise.resolve(), queued: false, failed: false };
    this.tailed.set(name, entry);
    entry.pumping = open(join(this.partialDir, name), "r").then(
      (file) => {
        entry.file = file;
        return this.pump(entry);
      },
      () => void (entry.failed = true),
    );
  }

  /** Reads what apt has written since, and parses the whole stanzas in it. */
  private async pump(t: Tailed, last = false): Promise<void> {
    if (t.failed || !t.file) return;
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await t.file.read(buf, 0, CHUNK, t.offset);
        if (bytesRead === 0) break;
        t.offset += bytesRead;
        const data = t.rest.length ? Buffer.concat([t.rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        const cut = data.lastIndexOf("\n\n");
        if (cut < 0) {
          t.rest = Buffer.from(data);
          continue;
        }
        for (const s of parsePackages(data.subarray(0, cut + 2))) t.stanzas.push(s);
        t.rest = Buffer.from(data.subarray(cut + 2));
      }
      if (last && t.rest.length) {
        for (const s of parsePackages(t.rest)) t.stanzas.push(s);
        t.rest = Buffer.alloc(0);
      }
    } catch {
      t.failed = true;
    }
  }

  /**
   * Once apt has its lists in place: the stanzas of each list read while apt wrote it, by its
   * file name in `listsDir`, for those whose file there is the one read, whole. Stops watching.
   */
  async finish(listsDir: string): Promise<Map<string, PackageStanza[]>> {
    this.watcher?.close();
    const out = new Map<string, PackageStanza[]>();
    for (const t of this.tailed.values()) {
      await t.pumping;
      await (t.pumping = this.pump(t, true));
      if (t.failed || !t.file) continue;
      const [mine, final] = await Promise.all([t.file.stat(), stat(join(listsDir, t.list)).catch(() => null)]);
      if (final && mine.ino === final.ino && mine.dev === final.dev && final.size === t.offset) out.set(t.list, t.stanzas);
    }
    await this.close();
    return out;
  }

  /** Stops watching and closes what it opened. */
  private async close(): Promise<void> {
    this.watcher?.close();
    const files = [...this.tailed.values()];
    this.tailed.clear();
    await Promise.all(files.map(async (t) => (await t.pumping.catch(() => undefined), t.file?.close().catch(() => undefined))));
  }
}
