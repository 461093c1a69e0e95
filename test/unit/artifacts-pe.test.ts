import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bzImageVersion, kernelRelease, parsePe, PeError, sectionDataRange, sectionText } from "@/server/artifacts/pe";
import { parseOsRelease } from "@/server/artifacts/os-release";
import { assemblePe, fakeBzImage } from "../integration/artifacts-helpers";

const section = (pe: Buffer, headers: ReturnType<typeof parsePe>, name: string) => {
  const s = headers.sections.find((x) => x.name === name)!;
  const { offset, length } = sectionDataRange(s);
  return pe.subarray(offset, offset + length);
};

describe("PE section table", () => {
  it("reads the sections of a PE file assembled here, with their sizes, VMAs and data", () => {
    const osrel = 'NAME="Test OS"\nID=test\nVERSION_ID=1\n';
    const pe = assemblePe(
      [
        { name: ".text", data: Buffer.alloc(300, 0x90) },
        { name: ".osrel", data: Buffer.from(osrel) },
        { name: ".cmdline", data: Buffer.from("console=ttyS0 quiet\0") },
        { name: ".uname", data: Buffer.from("6.1.0-99-amd64") },
        { name: ".sdmagic", data: Buffer.from("#### LoaderInfo: systemd-stub 254 ####") },
      ],
      0x140000000n,
    );
    const h = parsePe(pe);
    expect(h.format).toBe("PE32+");
    expect(h.machine).toBe(0x8664);
    expect(h.sections.map((s) => s.name)).toEqual([".text", ".osrel", ".cmdline", ".uname", ".sdmagic"]);
    const text = h.sections[0]!;
    expect(text).toMatchObject({ virtualSize: 300, rawSize: 512, virtualAddress: 0x1000, vma: 0x140001000 });
    expect(sectionText(section(pe, h, ".cmdline"))).toBe("console=ttyS0 quiet");
    expect(sectionText(section(pe, h, ".uname"))).toBe("6.1.0-99-amd64");
    expect(parseOsRelease(sectionText(section(pe, h, ".osrel")))).toEqual({ NAME: "Test OS", ID: "test", VERSION_ID: "1" });
  });

  it("refuses what is not a PE file, saying why", () => {
    expect(() => parsePe(Buffer.from("hello"))).toThrow(PeError);
    expect(() => parsePe(Buffer.concat([Buffer.from("MZ"), Buffer.alloc(200)]))).toThrow(/no PE signature/);
    const truncated = assemblePe([{ name: ".a", data: Buffer.from("x") }]).subarray(0, 0x100);
    expect(() => parsePe(truncated)).toThrow(/ends inside the (optional header|section table)/);
  });

  it("reads the kernel version from a bzImage setup header", () => {
    const v = "6.1.0-27-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC";
    expect(bzImageVersion(fakeBzImage(v))).toBe(v);
    expect(kernelRelease(v)).toBe("6.1.0-27-amd64");
    expect(bzImageVersion(Buffer.alloc(0x1000))).toBeNull();
  });

  // systemd-boot is a host requirement of the builds (scripts/setup-host.sh), so it is there in CI.
  it("reads systemd-boot's EFI binary like objdump -h does", () => {
    const path = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";
    expect(existsSync(path), `${path} (package systemd-boot-efi) is needed`).toBe(true);
    const h = parsePe(readFileSync(path));
    const names = h.sections.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([".text", ".data", ".sbat", ".sdmagic"]));
    expect(h.format).toBe("PE32+");
    const sbat = sectionText(section(readFileSync(path), h, ".sbat"));
    expect(sbat).toMatch(/^sbat,1,/);
  });
});

describe("os-release", () => {
  it("parses quoted and unquoted values and skips comments", () => {
    expect(parseOsRelease('# c\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nX=\'single\'\nY="a \\"q\\""\n\nbad line\n')).toEqual({
      PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)",
      ID: "debian",
      X: "single",
      Y: 'a "q"',
    });
  });
});
