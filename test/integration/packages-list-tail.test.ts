// Reading a Packages list while it is written, as apt-get update writes it: into a temporary
// file in lists/partial/, in pieces that cut stanzas (and UTF-8 characters) anywhere, renamed
// to its name there and then into lists/. Real files and the real file watcher.
import { mkdir, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parsePackages, type PackageStanza } from "@/server/packages/control";
import { ListTail } from "@/server/packages/list-tail";

const LIST = "mirror.invalid_debian_dists_bookworm_main_binary-amd64_Packages";

const stanza = (i: number) =>
  [
    `Package: pkg-${i}`,
    `Version: 1.${i}-1`,
    "Architecture: amd64",
    `Installed-Size: ${i}`,
    i % 3 === 0 ? "Provides: virtual-thing" : null,
    `Description: package number ${i} — ünïcödé`,
    " A longer text, over",
    " .",
    " two paragraphs.",
  ]
    .filter((l) => l !== null)
    .join("\n");
const TEXT = `${Array.from({ length: 5000 }, (_, i) => stanza(i)).join("\n\n")}\n`;
const BYTES = Buffer.from(TEXT, "utf8");

let dir: string;
let lists: string;
let partial: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "list-tail-"));
  lists = join(dir, "lists");
  partial = join(lists, "partial");
  await mkdir(partial, { recursive: true });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Writes the list as apt does: a temporary file in pieces, then two renames. */
async function aptWrites(bytes: Buffer, piece: number): Promise<void> {
  const temp = join(partial, `${LIST}.Ab12Cd`);
  const f = await open(temp, "w");
  for (let at = 0; at < bytes.length; at += piece) {
    await f.write(bytes.subarray(at, Math.min(bytes.length, at + piece)));
    // The reader gets a turn between pieces, as it does beside apt.
    await new Promise((r) => setImmediate(r));
  }
  await f.close();
  await rename(temp, join(partial, LIST));
  await rename(join(partial, LIST), join(lists, LIST));
}

/** A tail that collects what it hands over. */
function collecting() {
  const handed: PackageStanza[] = [];
  const batches: { source: string; list: string }[] = [];
  const tail = new ListTail(partial, new Set([LIST]), (source, list, stanzas) => {
    batches.push({ source, list });
    handed.push(...stanzas);
  });
  return { tail, handed, batches };
}

describe("a list read while apt writes it", () => {
  it("hands over the same stanzas as the finished file, whatever the pieces cut", async () => {
    const whole = [...parsePackages(BYTES)];
    expect(whole).toHaveLength(5000);
    expect(whole[1]!.summary).toBe("package number 1 — ünïcödé");
    for (const piece of [4093, 65536, 1 << 20]) {
      const { tail, handed, batches } = collecting();
      await aptWrites(BYTES, piece);
      const got = await tail.finish(lists);
      expect(got.get(LIST)).toBe(`${LIST}.Ab12Cd`);
      expect(handed).toEqual(whole);
      expect(new Set(batches.map((b) => `${b.source} ${b.list}`))).toEqual(new Set([`${LIST}.Ab12Cd ${LIST}`]));
      await rm(join(lists, LIST));
    }
  });

  it("reads while the file is written, a stanza longer than a read included", async () => {
    // One description of 3 MB: the stanza outgrows the reading buffer, twice over.
    const huge = `Package: huge\nVersion: 1\nDescription: big\n${" word word word word word word word\n".repeat(90_000)}`;
    const bytes = Buffer.from(`${TEXT}\n${huge}\n${stanza(5000)}\n`, "utf8");
    const whole = [...parsePackages(bytes)];
    expect(whole.map((s) => s.name).slice(-2)).toEqual(["huge", "pkg-5000"]);
    const { tail, handed, batches } = collecting();
    const temp = join(partial, `${LIST}.Ab12Cd`);
    const f = await open(temp, "w");
    const half = Math.floor(TEXT.length / 2);
    await f.write(bytes.subarray(0, half));
    // Stanzas come before the file is whole: the watch woke a read.
    await expect.poll(() => handed.length, { timeout: 5000 }).toBeGreaterThan(0);
    const early = handed.length;
    expect(early).toBeLessThan(5000);
    for (let at = half; at < bytes.length; at += 65536) {
      await f.write(bytes.subarray(at, Math.min(bytes.length, at + 65536)));
      await new Promise((r) => setImmediate(r));
    }
    await f.close();
    await rename(temp, join(partial, LIST));
    await rename(join(partial, LIST), join(lists, LIST));
    expect((await tail.finish(lists)).get(LIST)).toBe(`${LIST}.Ab12Cd`);
    expect(handed).toEqual(whole);
    expect(batches.length).toBeGreaterThan(2);
  });

  it("is not used when the file in lists/ is another one (apt wrote it again)", async () => {
    const { tail } = collecting();
    await aptWrites(BYTES, 65536);
    // Replaced by a new file of the same content: not the file that was read.
    await writeFile(join(lists, `${LIST}.new`), BYTES);
    await rename(join(lists, `${LIST}.new`), join(lists, LIST));
    expect((await tail.finish(lists)).has(LIST)).toBe(false);
  });

  it("is not used when the list never reached lists/ (apt failed), nor for lists it was not asked about", async () => {
    const { tail, batches } = collecting();
    // A list of another index: written and put in place as apt does, but not asked about.
    const other = "other_Packages";
    await writeFile(join(partial, `${other}.Zz9Yy8`), BYTES);
    await rename(join(partial, `${other}.Zz9Yy8`), join(lists, other));
    const temp = join(partial, `${LIST}.Ab12Cd`);
    await writeFile(temp, BYTES.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 50));
    expect((await tail.finish(lists)).size).toBe(0);
    expect(batches.every((b) => b.list === LIST)).toBe(true);
  });
});
