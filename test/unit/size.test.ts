// Sizes as systemd-repart reads them (base 1024) and their display.
import { describe, expect, it } from "vitest";
import { formatBytes, parseSize, SIZE_UNITS } from "@/server/mkosi/size";

const K = 1024;

describe("parseSize", () => {
  it.each([
    ["1", 1],
    ["100", 100],
    ["1K", K],
    ["512M", 512 * K ** 2],
    ["1G", K ** 3],
    ["2T", 2 * K ** 4],
    ["1.5G", 1.5 * K ** 3],
    ["0.5K", 512],
    ["0.001K", 1],
    ["1.25M", 1.25 * K ** 2],
    ["4096T", 2 ** 52],
    ["999999999999999", 999999999999999],
  ] as const)("%s is %i bytes", (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, bytes });
  });

  it("knows the suffixes it offers", () => {
    expect(SIZE_UNITS.map((u) => parseSize(`1${u}`))).toEqual([
      { ok: true, bytes: K },
      { ok: true, bytes: K ** 2 },
      { ok: true, bytes: K ** 3 },
      { ok: true, bytes: K ** 4 },
    ]);
  });

  it.each([
    ["12Q", /is not a size/],
    ["", /is not a size/],
    ["G", /is not a size/],
    ["1g", /is not a size/],
    ["1 G", /is not a size/],
    [" 1G", /is not a size/],
    ["1G ", /is not a size/],
    ["-1G", /is not a size/],
    ["+1G", /is not a size/],
    ["1e3", /is not a size/],
    ["1GB", /is not a size/],
    ["1.G", /is not a size/],
    [".5G", /is not a size/],
    ["0.0001K", /is not a size/],
    ["1,5G", /is not a size/],
    ["0x10", /is not a size/],
    ["1G\nType=esp", /is not a size/],
    ["1234567890123456", /is not a size/],
    ["1.5", /fraction of a byte/],
    ["0", /larger than zero/],
    ["0.0K", /larger than zero/],
    ["0000", /larger than zero/],
    ["4097T", /too large/],
    ["999999999999999T", /too large/],
  ] as const)("%j is refused", (text, message) => {
    const r = parseSize(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(message);
      expect(r.error).toContain(`'${text}'`);
    }
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [K, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [10 * K, "10 KiB"],
    [512 * K ** 2, "512 MiB"],
    [673 * K ** 2, "673 MiB"],
    [1.5 * K ** 3, "1.5 GiB"],
    [5 * K ** 4, "5.0 TiB"],
    [2048 * K ** 4, "2048 TiB"],
  ])("%i bytes is %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it("shows what parseSize read", () => {
    for (const s of ["512M", "1G", "2T", "1.5G"]) {
      const r = parseSize(s);
      expect(r.ok && formatBytes(r.bytes)).toMatch(/^\d+(\.\d)? [KMGT]iB$/);
    }
  });
});
