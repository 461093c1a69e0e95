import { describe, expect, it, vi } from "vitest";
import { parseSha256Sums } from "@/server/artifacts/checksums";
import { probeFs, probeTable } from "@/server/artifacts/fs-probe";
import { classify, splitPartitionLabel } from "@/server/artifacts/kinds";
import { parseSfdiskJson, PartitionTableError } from "@/server/artifacts/partitions";
import { parseQemuImgProgress, Throttle } from "@/server/artifacts/progress";
import { contentDisposition, etagOf, ifRangeHolds, noneMatch, notModifiedSince, parseRange } from "@/server/artifacts/ranges";
import { segmentProblem } from "@/server/artifacts/resolve";
import { conversionTarget, conversionCommand } from "@/server/artifacts/conversions";

const HEX = "e974623e2d0a3579e72af8a5d843fea6459d72e64fda55f0cfb744d1a4512f72";

describe("SHA256SUMS", () => {
  it("reads mkosi's binary-mode lines, text-mode lines and the BSD form", () => {
    const m = parseSha256Sums(`${HEX} *image_1.raw\n${HEX.toUpperCase()}  image 1.efi\nSHA256 (x.vmlinuz) = ${HEX}\ngarbage\n`);
    expect([...m]).toEqual([["image_1.raw", HEX], ["image 1.efi", HEX], ["x.vmlinuz", HEX]]);
  });
});

describe("sfdisk JSON", () => {
  const json = JSON.stringify({
    partitiontable: {
      label: "gpt",
      id: "44595038-2B6E-4FA1-A580-4C318647E8B6",
      sectorsize: 512,
      partitions: [
        { node: "img.raw1", start: 2048, size: 1048576, type: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", uuid: "F4DC7F7D-8AF4-4252-A766-1E5DADE664FB", name: "esp" },
        { node: "img.raw2", start: 1050624, size: 307944, type: "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", uuid: "29C8A5E3-25B8-4183-9085-1B00F5817B54", name: "root", attrs: "GUID:59" },
        { node: "img.raw3", start: 1358568, size: 8, type: "01234567-89AB-CDEF-0123-456789ABCDEF" },
      ],
    },
  });
  it("gives bytes, type names and labels", () => {
    const t = parseSfdiskJson(json, 695607296);
    expect(t).toMatchObject({ label: "gpt", sizeBytes: 695607296, sectorSize: 512, id: "44595038-2b6e-4fa1-a580-4c318647e8b6" });
    expect(t.partitions.map((p) => [p.index, p.startBytes, p.sizeBytes, p.typeName, p.label, p.attrs])).toEqual([
      [1, 1048576, 536870912, "EFI System", "esp", null],
      [2, 537919488, 157667328, "Linux root (x86-64)", "root", "GUID:59"],
      [3, 1358568 * 512, 4096, "Unknown type 01234567-89ab-cdef-0123-456789abcdef", null, null],
    ]);
  });
  it("names MBR types and refuses what is not a table", () => {
    const dos = parseSfdiskJson(JSON.stringify({ partitiontable: { label: "dos", sectorsize: 512, partitions: [{ node: "d1", start: 2048, size: 10, type: "ef" }, { node: "d2", start: 4096, size: 10, type: "83" }] } }), 1 << 20);
    expect(dos.partitions.map((p) => p.typeName)).toEqual(["EFI System", "Linux"]);
    expect(() => parseSfdiskJson("nope", 0)).toThrow(PartitionTableError);
    expect(() => parseSfdiskJson("{}", 0)).toThrow(/no partition table/);
  });
});

describe("file system and table magic", () => {
  const buf = (f: (b: Buffer) => void, n = 0x11000) => {
    const b = Buffer.alloc(n);
    f(b);
    return b;
  };
  it("recognises each file system by its superblock", () => {
    expect(probeFs(buf((b) => b.write("hsqs", 0, "latin1")))).toBe("squashfs");
    expect(probeFs(buf((b) => b.writeUInt32LE(0xe0f5e1e2, 1024)))).toBe("erofs");
    expect(probeFs(buf((b) => b.write("XFSB", 0, "latin1")))).toBe("xfs");
    expect(probeFs(buf((b) => b.write("_BHRfS_M", 0x10040, "latin1")))).toBe("btrfs");
    expect(probeFs(buf((b) => b.write("SWAPSPACE2", 4096 - 10, "latin1")))).toBe("swap");
    expect(probeFs(buf((b) => (b.writeUInt16LE(0xef53, 1024 + 56), b.writeUInt32LE(0x40, 1024 + 0x60))))).toBe("ext4");
    expect(probeFs(buf((b) => (b.writeUInt16LE(0xef53, 1024 + 56), b.writeUInt32LE(0x4, 1024 + 0x5c))))).toBe("ext3");
    expect(probeFs(buf((b) => (b.write("FAT32   ", 0x52, "latin1"), (b[510] = 0x55), (b[511] = 0xaa))))).toBe("vfat");
    expect(probeFs(Buffer.alloc(0x11000))).toBeNull();
  });
  it("tells a disk (GPT or MBR) from a FAT partition image", () => {
    expect(probeTable(buf((b) => b.write("EFI PART", 512, "latin1"), 8192))).toBe("gpt");
    const mbr = buf((b) => {
      b[510] = 0x55;
      b[511] = 0xaa;
      b[446 + 4] = 0x83;
      b.writeUInt32LE(100, 446 + 12);
    }, 8192);
    expect(probeTable(mbr)).toBe("dos");
    expect(probeTable(buf((b) => (b.write("FAT32   ", 0x52, "latin1"), (b[510] = 0x55), (b[511] = 0xaa)), 8192))).toBeNull();
    expect(probeTable(Buffer.alloc(8192))).toBeNull();
  });
});

describe("kinds in words", () => {
  it("names mkosi's outputs", () => {
    const k = (name: string, facts = {}) => classify(name, facts);
    expect(k("img_1.raw", { table: "gpt" })).toEqual({ kind: "disk", kindLabel: "Disk image (raw, GPT)" });
    expect(k("img_1.root-x86-64.raw", { table: null, fsType: "squashfs" })).toEqual({ kind: "partition", kindLabel: "Root partition (x86-64)" });
    expect(k("img_1.esp.raw", { table: null })).toEqual({ kind: "partition", kindLabel: "EFI System Partition" });
    expect(k("img_1.efi", { uki: true })).toEqual({ kind: "uki", kindLabel: "Unified kernel image" });
    expect(k("img_1.efi", { uki: false }).kind).toBe("other");
    expect(k("img_1.vmlinuz").kind).toBe("kernel");
    expect(k("img_1.initrd").kind).toBe("initrd");
    expect(k("img_1.SHA256SUMS").kind).toBe("checksums");
    expect(k("img_1.manifest").kind).toBe("manifest");
    expect(k("img_1.qcow2")).toEqual({ kind: "conversion", kindLabel: "QEMU disk image (qcow2)" });
    expect(k("img_1.vdi").kind).toBe("conversion");
    expect(k("img_1.vmdk").kind).toBe("conversion");
    expect(k("img_1.raw.zst")).toEqual({ kind: "compressed", kindLabel: "Disk image (raw), zstd-compressed" });
    expect(k("notes.txt")).toEqual({ kind: "other", kindLabel: "File" });
    expect(splitPartitionLabel("usr-arm64-verity-sig")).toBe("/usr verity signature partition (arm64)");
  });
});

describe("qemu-img progress", () => {
  it("takes the last percentage of a chunk", () => {
    expect(parseQemuImgProgress("    (0.00/100%)\r    (1.41/100%)\r    (2.82/100%)\r")).toBeCloseTo(0.0282);
    expect(parseQemuImgProgress("    (100.00/100%)\r")).toBe(1);
    expect(parseQemuImgProgress("nothing here")).toBeUndefined();
  });
  it("throttles to one event per interval, keeping the latest", () => {
    vi.useFakeTimers();
    try {
      const seen: number[] = [];
      const t = new Throttle<number>(50, (v) => seen.push(v));
      for (let i = 1; i <= 100; i++) t.push(i);
      expect(seen).toEqual([1]);
      vi.advanceTimersByTime(49);
      expect(seen).toEqual([1]);
      vi.advanceTimersByTime(1);
      expect(seen).toEqual([1, 100]);
      // Within the next interval: held, then dropped by cancel().
      t.push(101);
      t.cancel();
      vi.advanceTimersByTime(200);
      expect(seen).toEqual([1, 100]);
      // After a quiet interval a value goes out at once; flush() sends a held one now.
      t.push(102);
      expect(seen).toEqual([1, 100, 102]);
      t.push(103);
      t.flush();
      expect(seen).toEqual([1, 100, 102, 103]);
      vi.advanceTimersByTime(200);
      expect(seen).toEqual([1, 100, 102, 103]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("ranges and validators", () => {
  it("parses single byte ranges", () => {
    expect(parseRange(null, 100)).toEqual({ type: "full" });
    expect(parseRange("bytes=0-9", 100)).toEqual({ type: "partial", start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ type: "partial", start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ type: "partial", start: 90, end: 99 });
    expect(parseRange("bytes=-1000", 100)).toEqual({ type: "partial", start: 0, end: 99 });
    expect(parseRange("bytes=50-5000", 100)).toEqual({ type: "partial", start: 50, end: 99 });
    expect(parseRange("bytes=100-", 100)).toEqual({ type: "unsatisfiable" });
    expect(parseRange("bytes=-0", 100)).toEqual({ type: "unsatisfiable" });
    expect(parseRange("bytes=0-0", 0)).toEqual({ type: "unsatisfiable" });
    expect(parseRange("bytes=5-1", 100)).toEqual({ type: "full" });
    expect(parseRange("bytes=0-1,5-6", 100)).toEqual({ type: "full" });
    expect(parseRange("items=0-1", 100)).toEqual({ type: "full" });
  });
  it("compares ETags and dates", () => {
    const tag = etagOf({ size: 10, mtimeMs: 1700000000123.5, ino: 42 });
    expect(tag).toMatch(/^"[0-9a-f]+-a-[0-9a-f]+"$/);
    expect(noneMatch(tag, tag)).toBe(true);
    expect(noneMatch(`"x", W/${tag}`, tag)).toBe(true);
    expect(noneMatch("*", tag)).toBe(true);
    expect(noneMatch('"other"', tag)).toBe(false);
    expect(ifRangeHolds(null, tag, 0)).toBe(true);
    expect(ifRangeHolds(tag, tag, 0)).toBe(true);
    expect(ifRangeHolds(`W/${tag}`, tag, 0)).toBe(false);
    const t = Date.UTC(2024, 0, 2, 3, 4, 5);
    expect(ifRangeHolds(new Date(t).toUTCString(), tag, t + 400)).toBe(true);
    expect(ifRangeHolds(new Date(t - 1000).toUTCString(), tag, t)).toBe(false);
    expect(notModifiedSince(new Date(t).toUTCString(), t + 999)).toBe(true);
    expect(notModifiedSince(new Date(t).toUTCString(), t + 1000)).toBe(false);
    expect(contentDisposition('a "b" é.raw')).toBe(`attachment; filename="a _b_ _.raw"; filename*=UTF-8''a%20%22b%22%20%C3%A9.raw`);
  });
});

describe("names", () => {
  it("refuses traversal segments", () => {
    expect(segmentProblem(["img.raw"])).toBeNull();
    expect(segmentProblem(["sub", "img.raw"])).toBeNull();
    for (const bad of [[], [".."], ["a", ".."], ["."], [""], ["", "etc", "passwd"], ["../x"], ["a\\b"], ["a\0b"]]) expect(segmentProblem(bad), JSON.stringify(bad)).not.toBeNull();
  });
  it("names conversion targets and their commands", () => {
    expect(conversionTarget("img_1.raw", "qcow2")).toBe("img_1.qcow2");
    expect(conversionTarget("img_1.raw", "zst")).toBe("img_1.raw.zst");
    expect(conversionCommand("vdi", "s", "t")).toEqual(["qemu-img", "convert", "-p", "-f", "raw", "-O", "vdi", "-o", "static=off", "s", "t"]);
    expect(conversionCommand("vmdk", "s", "t")).toContain("subformat=streamOptimized");
  });
});
