// The boot check's tampered disks, made from a build's image in the run's folder: one with a
// single byte changed inside the root file system's data (in the kernel image file, which
// nothing reads during boot, so the VM still reaches a login and the read can be tried), and
// one whose UKI on the ESP is signed with a throwaway key instead of the profile's.
import { lstat, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { inspectDisk } from "@/server/artifacts/inspect";
import { partitionOf } from "@/server/artifacts/verified-boot";
import { runOwned } from "@/server/processes/registry";

const WINDOW = 4096;
const CHUNK = 16 * 1024 * 1024;

async function run(what: string, file: string, args: string[], signal?: AbortSignal): Promise<string> {
  const r = await runOwned(what, file, args, { timeout: 300_000, signal });
  if (r.exitCode !== 0) throw new Error(`${what} failed: ${String(r.stderr ?? r.stdout ?? "").trim().split("\n").pop() ?? `exit status ${r.exitCode}`}`);
  return String(r.stdout ?? "");
}

/** A sparse copy (a disk image is mostly holes): cp is quicker than reading it all through node. */
async function copyDisk(src: string, dst: string, signal?: AbortSignal): Promise<void> {
  await rm(dst, { force: true });
  await run("copy the disk image", "cp", ["--sparse=always", src, dst], signal);
}

/** Where `needle` first occurs in a file's byte range, read in chunks. */
async function find(path: string, start: number, length: number, needle: Buffer): Promise<number | undefined> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(CHUNK + needle.length);
    for (let at = 0; at < length; at += CHUNK) {
      const want = Math.min(CHUNK + needle.length, length - at);
      const { bytesRead } = await fh.read(buf, 0, want, start + at);
      const i = buf.subarray(0, bytesRead).indexOf(needle);
      if (i >= 0) return start + at + i;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

export interface RootTamper {
  disk: string;
  /** Byte offset in the disk image, the old and the new value. */
  offset: number;
  from: number;
  to: number;
  /** Offset of that byte inside the root partition. */
  partitionOffset: number;
  /** What the transcript says was done. */
  description: string;
}

/**
 * A copy of `image` with one byte flipped inside the root partition, in a block of the
 * kernel image file (found by its bytes: `kernel` is the UKI's .linux section, whose middle is
 * the image's vmlinuz byte for byte; the signature lives in its header and tail).
 */
export async function tamperRoot(image: string, kernel: Buffer, dir: string, signal?: AbortSignal): Promise<RootTamper> {
  const table = await inspectDisk(image, (await lstat(image)).size, signal);
  const root = partitionOf(table, /^Linux root \(/) ?? table.partitions.find((p) => /^Linux root/.test(p.typeName) && !/verity/.test(p.typeName));
  if (!root) throw new Error("the disk has no root partition");
  if (kernel.length < 3 * 1024 * 1024) throw new Error("the UKI's kernel is too small to pick a block from");
  const needle = kernel.subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + WINDOW);
  const found = await find(image, root.startBytes, root.sizeBytes, needle);
  if (found === undefined) throw new Error("the kernel image's bytes were not found in the root partition (a compressed file system?): no data block to change");
  const offset = found + WINDOW / 2;
  const disk = join(dir, "tampered-root.raw");
  await copyDisk(image, disk, signal);
  const fh = await open(disk, "r+");
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    const from = b[0]!;
    const to = from ^ 0xff;
    await fh.write(Buffer.from([to]), 0, 1, offset);
    return {
      disk,
      offset,
      from,
      to,
      partitionOffset: offset - root.startBytes,
      description: `a copy of the disk with the byte at ${offset} (offset ${offset - root.startBytes} in the root partition ${root.label ?? root.index}, inside the kernel image file's data) changed from 0x${from.toString(16).padStart(2, "0")} to 0x${to.toString(16).padStart(2, "0")}`,
    };
  } finally {
    await fh.close();
  }
}

export interface UkiTamper {
  disk: string;
  /** The UKI's path on the ESP that was replaced. */
  replaced: string[];
  description: string;
}

/** A copy of `image` whose UKIs on the ESP are the build's UKI re-signed with a new, untrusted key. */
export async function foreignUki(image: string, uki: string, dir: string, signal?: AbortSignal): Promise<UkiTamper> {
  const table = await inspectDisk(image, (await lstat(image)).size, signal);
  const esp = partitionOf(table, /^EFI System/);
  if (!esp) throw new Error("the disk has no ESP");
  const key = join(dir, "foreign.key");
  const cert = join(dir, "foreign.crt");
  await run("make a foreign key", "openssl", ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "1", "-subj", "/CN=Image Studio boot check: a key the firmware does not trust", "-keyout", key, "-out", cert], signal);
  const unsigned = join(dir, "unsigned.efi");
  const foreign = join(dir, "foreign.efi");
  await rm(unsigned, { force: true });
  await run("copy the UKI", "cp", [uki, unsigned], signal);
  await run("remove the UKI's signature", "sbattach", ["--remove", unsigned], signal);
  await run("sign the UKI with the foreign key", "sbsign", ["--key", key, "--cert", cert, "--output", foreign, unsigned], signal);
  await rm(unsigned, { force: true });
  const disk = join(dir, "foreign-uki.raw");
  await copyDisk(image, disk, signal);
  const at = `${disk}@@${esp.startBytes}`;
  const listing = await run("list the ESP's UKIs", "mdir", ["-b", "-i", at, "::/EFI/Linux"], signal).catch(() => "");
  const names = listing
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /\.efi$/i.test(l))
    .map((l) => l.replace(/^::/, ""));
  if (names.length === 0) throw new Error("the ESP holds no UKI in /EFI/Linux");
  for (const n of names) await run("put the foreign UKI on the ESP", "mcopy", ["-o", "-i", at, foreign, `::${n}`], signal);
  await rm(key, { force: true });
  return { disk, replaced: names, description: `a copy of the disk whose UKI (${names.join(", ")}) is signed by a new key the firmware does not trust (sbattach --remove, then sbsign with it)` };
}

/** Removes the copies when the check is done (each is as large as the disk image). */
export async function removeCopies(dir: string): Promise<void> {
  for (const n of ["tampered-root.raw", "foreign-uki.raw", "foreign.efi", "foreign.crt", "foreign.key"]) await rm(join(dir, n), { force: true });
}
