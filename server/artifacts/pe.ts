// The PE/COFF section table of an EFI binary (a unified kernel image is a PE file whose
// sections carry the kernel, initrd, command line and os-release), read from the file's first
// bytes, so no objdump is needed. Pure: the caller reads the bytes.

export interface PeSection {
  name: string;
  virtualSize: number;
  /** RVA of the section. */
  virtualAddress: number;
  /** ImageBase + RVA, as `objdump -h` prints it. */
  vma: number;
  rawSize: number;
  /** Where the section's bytes start in the file. */
  rawOffset: number;
}

export interface PeHeaders {
  machine: number;
  /** "PE32" or "PE32+". */
  format: "PE32" | "PE32+";
  imageBase: number;
  sections: PeSection[];
}

export class PeError extends Error {}

/** How many leading bytes of the file parsePe needs (read this much, at most). */
export const PE_HEAD_BYTES = 64 * 1024;

export function parsePe(head: Buffer): PeHeaders {
  const need = (end: number, what: string) => {
    if (end > head.length) throw new PeError(`not a PE file: it ends inside the ${what}`);
  };
  need(0x40, "DOS header");
  if (head.toString("latin1", 0, 2) !== "MZ") throw new PeError("not a PE file: no MZ signature");
  const pe = head.readUInt32LE(0x3c);
  need(pe + 24, "PE header");
  if (head.toString("latin1", pe, pe + 4) !== "PE\0\0") throw new PeError("not a PE file: no PE signature");
  const machine = head.readUInt16LE(pe + 4);
  const count = head.readUInt16LE(pe + 6);
  const optSize = head.readUInt16LE(pe + 20);
  const opt = pe + 24;
  need(opt + Math.max(optSize, 2), "optional header");
  const magic = head.readUInt16LE(opt);
  let format: PeHeaders["format"];
  let imageBase: number;
  if (magic === 0x10b) {
    format = "PE32";
    need(opt + 32, "optional header");
    imageBase = head.readUInt32LE(opt + 28);
  } else if (magic === 0x20b) {
    format = "PE32+";
    need(opt + 32, "optional header");
    imageBase = Number(head.readBigUInt64LE(opt + 24));
  } else throw new PeError(`not a PE file: unknown optional header magic 0x${magic.toString(16)}`);
  const table = opt + optSize;
  need(table + count * 40, "section table");
  const sections: PeSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    const raw = head.subarray(at, at + 8);
    const nul = raw.indexOf(0);
    const name = raw.toString("latin1", 0, nul < 0 ? 8 : nul);
    const virtualSize = head.readUInt32LE(at + 8);
    const virtualAddress = head.readUInt32LE(at + 12);
    sections.push({
      name,
      virtualSize,
      virtualAddress,
      vma: imageBase + virtualAddress,
      rawSize: head.readUInt32LE(at + 16),
      rawOffset: head.readUInt32LE(at + 20),
    });
  }
  return { machine, format, imageBase, sections };
}

/**
 * The bytes of a section that hold data: VirtualSize counts them, SizeOfRawData is padded to
 * the file alignment (or smaller than VirtualSize for zero-filled tails).
 */
export function sectionDataRange(s: PeSection): { offset: number; length: number } {
  const length = s.virtualSize > 0 ? Math.min(s.virtualSize, s.rawSize) : s.rawSize;
  return { offset: s.rawOffset, length };
}

/** Section text as UKIs store it: UTF-8, sometimes NUL-terminated or padded. */
export function sectionText(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString("utf8", 0, nul < 0 ? bytes.length : nul);
}

/**
 * The version string of an x86 Linux bzImage (the kernel's setup header points at it), e.g.
 * "6.1.0-27-amd64 (debian-kernel@lists.debian.org) #1 SMP ..."; null if it is not a bzImage.
 */
export function bzImageVersion(head: Buffer): string | null {
  if (head.length < 0x210 || head.toString("latin1", 0x202, 0x206) !== "HdrS") return null;
  const ptr = head.readUInt16LE(0x20e);
  if (ptr === 0) return null;
  const at = 0x200 + ptr;
  if (at >= head.length) return null;
  const end = head.indexOf(0, at);
  const text = head.toString("latin1", at, end < 0 ? Math.min(head.length, at + 256) : end).trim();
  return text || null;
}

/** The release part of a kernel version string ("6.1.0-27-amd64"). */
export const kernelRelease = (version: string) => version.split(/\s+/)[0] ?? version;
