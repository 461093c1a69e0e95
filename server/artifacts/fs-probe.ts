// Which file system starts at the beginning of a buffer, by its magic numbers (what blkid
// looks at), so inspecting a partition needs no tool and no loop device.

/** Bytes from the start of a partition that probeFs needs (btrfs's superblock is at 64 KiB). */
export const FS_PROBE_BYTES = 0x10000 + 0x1000;

const at = (b: Buffer, off: number, text: string) => b.length >= off + text.length && b.toString("latin1", off, off + text.length) === text;

export function probeFs(b: Buffer): string | null {
  if (at(b, 0, "hsqs")) return "squashfs";
  if (b.length >= 1028 && b.readUInt32LE(1024) === 0xe0f5e1e2) return "erofs";
  if (at(b, 0, "XFSB")) return "xfs";
  if (at(b, 0, "LUKS\xba\xbe")) return "crypto_LUKS";
  if (at(b, 0, "verity\0\0")) return "DM_verity_hash";
  if (at(b, 0x10040, "_BHRfS_M")) return "btrfs";
  if (b.length >= 1024 + 0x68 && b.readUInt16LE(1024 + 56) === 0xef53) {
    const compat = b.readUInt32LE(1024 + 0x5c);
    const incompat = b.readUInt32LE(1024 + 0x60);
    // extents, 64bit, flex_bg are ext4's; a journal alone is ext3.
    if (incompat & (0x40 | 0x80 | 0x200)) return "ext4";
    return compat & 0x4 ? "ext3" : "ext2";
  }
  for (const page of [4096, 8192, 16384, 65536])
    if (at(b, page - 10, "SWAPSPACE2") || at(b, page - 10, "SWAP-SPACE")) return "swap";
  if (at(b, 3, "NTFS    ")) return "ntfs";
  if (at(b, 3, "EXFAT   ")) return "exfat";
  if (b.length >= 512 && b[510] === 0x55 && b[511] === 0xaa && (at(b, 0x36, "FAT1") || at(b, 0x52, "FAT32") || at(b, 0x36, "FAT "))) return "vfat";
  if (at(b, 0x8001, "CD001")) return "iso9660";
  return null;
}

/**
 * Does the buffer (a file's first 8 KiB) start with a partition table? GPT: "EFI PART" at LBA 1
 * (512- or 4096-byte sectors). MBR: the 0x55AA signature with a partition entry, and not a FAT
 * boot sector (which carries the same signature).
 */
export function probeTable(b: Buffer): "gpt" | "dos" | null {
  if (at(b, 512, "EFI PART") || at(b, 4096, "EFI PART")) return "gpt";
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa) return null;
  if (probeFs(b) !== null) return null;
  for (let i = 0; i < 4; i++) {
    const e = 446 + i * 16;
    if (b[e + 4] !== 0 && b.readUInt32LE(e + 12) > 0) return "dos";
  }
  return null;
}
