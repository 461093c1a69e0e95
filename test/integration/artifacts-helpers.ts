// Shared by the artifacts tests: a PE file assembled in TS (a stand-in UKI, so no objcopy is
// needed), a small GPT disk image made with real tools, and a fake build row with its folders.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "@/server/db/client";
import { builds, type BuildState } from "@/server/db/schema";
import { buildPaths } from "@/server/builds/paths";

export interface PeSectionSpec {
  name: string;
  data: Buffer;
}

/** A minimal PE32+ file with the given sections (file alignment 0x200, section alignment 0x1000). */
export function assemblePe(sections: PeSectionSpec[], imageBase = 0n): Buffer {
  const optSize = 240;
  const peAt = 0x80;
  const tableAt = peAt + 24 + optSize;
  const headersEnd = align(tableAt + sections.length * 40, 0x200);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(headersEnd);
  header.write("MZ", 0, "latin1");
  header.writeUInt32LE(peAt, 0x3c);
  header.write("PE\0\0", peAt, "latin1");
  header.writeUInt16LE(0x8664, peAt + 4);
  header.writeUInt16LE(sections.length, peAt + 6);
  header.writeUInt16LE(optSize, peAt + 20);
  header.writeUInt16LE(0x22, peAt + 22);
  const opt = peAt + 24;
  header.writeUInt16LE(0x20b, opt);
  header.writeBigUInt64LE(imageBase, opt + 24);
  header.writeUInt32LE(0x1000, opt + 32); // SectionAlignment
  header.writeUInt32LE(0x200, opt + 36); // FileAlignment
  let fileOffset = headersEnd;
  let rva = 0x1000;
  sections.forEach((s, i) => {
    const at = tableAt + i * 40;
    header.write(s.name.slice(0, 8), at, "latin1");
    const raw = align(s.data.length, 0x200);
    header.writeUInt32LE(s.data.length, at + 8);
    header.writeUInt32LE(rva, at + 12);
    header.writeUInt32LE(raw, at + 16);
    header.writeUInt32LE(fileOffset, at + 20);
    const padded = Buffer.alloc(raw);
    s.data.copy(padded);
    parts.push(padded);
    fileOffset += raw;
    rva += align(Math.max(s.data.length, 1), 0x1000);
  });
  return Buffer.concat([header, ...parts]);
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** The start of an x86 bzImage whose setup header points at `version`. */
export function fakeBzImage(version: string): Buffer {
  const b = Buffer.alloc(0x1000);
  b.write("HdrS", 0x202, "latin1");
  b.writeUInt16LE(0x400, 0x20e);
  b.write(`${version}\0`, 0x200 + 0x400, "latin1");
  return b;
}

export async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

export const sha256Of = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export const ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
export const ROOT_TYPE = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
export const SWAP_TYPE = "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f";
const MiB = 1024 * 1024;

/** The layout makeDiskImage writes (bytes). */
export const LAYOUT = {
  size: 64 * MiB,
  esp: { start: 1 * MiB, size: 24 * MiB, label: "esp" },
  root: { start: 25 * MiB, size: 30 * MiB, label: "root" },
  swap: { start: 55 * MiB, size: 8 * MiB, label: "swap" },
};

/**
 * A 64 MiB GPT disk: an ESP (vfat, with a small folder copied in), a squashfs root made from a
 * small folder, and a swap partition; made with sfdisk, mkfs.vfat, mcopy-free dd, mksquashfs, mkswap.
 */
export async function makeDiskImage(path: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "artifacts-disk-"));
  try {
    const L = LAYOUT;
    await execa("truncate", ["-s", String(L.size), path]);
    const script = [
      "label: gpt",
      `start=${L.esp.start / 512}, size=${L.esp.size / 512}, type=${ESP_TYPE}, name="${L.esp.label}"`,
      `start=${L.root.start / 512}, size=${L.root.size / 512}, type=${ROOT_TYPE}, name="${L.root.label}"`,
      `start=${L.swap.start / 512}, size=${L.swap.size / 512}, type=${SWAP_TYPE}, name="${L.swap.label}"`,
    ].join("\n");
    await execa("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", path], { input: `${script}\n` });
    const esp = join(work, "esp.img");
    await execa("mkfs.vfat", ["-n", "ESP", "-C", esp, String(L.esp.size / 1024)]);
    const rootDir = join(work, "root");
    await mkdir(join(rootDir, "etc"), { recursive: true });
    await writeFile(join(rootDir, "etc", "os-release"), "ID=test\n");
    await writeFile(join(rootDir, "hello.txt"), "hello from the root partition\n".repeat(1000));
    const root = join(work, "root.sqfs");
    await execa("mksquashfs", [rootDir, root, "-noappend", "-quiet", "-no-progress"]);
    const swap = join(work, "swap.img");
    await execa("truncate", ["-s", String(L.swap.size), swap]);
    await execa("mkswap", ["-L", "swap", swap]);
    for (const [img, start] of [[esp, L.esp.start], [root, L.root.start], [swap, L.swap.start]] as const)
      await execa("dd", [`if=${img}`, `of=${path}`, "bs=1M", `seek=${start / MiB}`, "conv=notrunc,sparse", "status=none"]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A build row in `state` with its folder and an output folder, as a finished build leaves them. */
export async function fakeBuild(db: Db, dataDir: string, state: BuildState, profileId: number | null = null, profileName = "test") {
  const row = db
    .insert(builds)
    .values({ profileId, profileName, profileRevision: 1, state, queuedAt: new Date(), endedAt: state === "running" || state === "queued" ? null : new Date(), mkosiVersion: "24.3" })
    .returning()
    .get();
  const paths = buildPaths(dataDir, row.id);
  await mkdir(paths.output, { recursive: true });
  await mkdir(paths.project, { recursive: true });
  await writeFile(paths.log, `log of build ${row.id}\n`);
  return { id: row.id, paths };
}

/**
 * The download handler under node:http, as server.ts mounts it: raw request paths reach it
 * unnormalised (unlike a browser or fetch, '..' segments are passed on as sent), so the
 * handler itself must refuse them.
 */
