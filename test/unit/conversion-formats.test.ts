// The one table of conversion formats: every format the database knows has its words and
// command, the buttons list each once, and the help says the command that runs.
import { describe, expect, it } from "vitest";
import { CONVERSION_FORMAT_INFO, CONVERSION_ORDER, conversionCommandLine } from "@/server/artifacts/conversion-formats";
import { conversionCommand } from "@/server/artifacts/conversions";
import { classify } from "@/server/artifacts/kinds";
import { CONVERSION_FORMATS } from "@/server/db/schema";
import { CONVERSIONS } from "@/components/artifacts/format";

describe("conversion formats", () => {
  it("cover every format of the database once, in the buttons' order", () => {
    expect([...CONVERSION_ORDER].sort()).toEqual([...CONVERSION_FORMATS].sort());
    expect(Object.keys(CONVERSION_FORMAT_INFO).sort()).toEqual([...CONVERSION_FORMATS].sort());
    expect(CONVERSIONS.map((c) => c.format)).toEqual(CONVERSION_ORDER);
  });

  it("say in the help the options the command runs with (the VMDK is stream-optimised)", () => {
    const vmdk = CONVERSIONS.find((c) => c.format === "vmdk")!;
    expect(vmdk.help).toContain("subformat=streamOptimized");
    for (const c of CONVERSIONS) {
      const argv = conversionCommand(c.format, "image.raw", `image.${c.format}`);
      const options = argv[0] === "qemu-img" ? argv.slice(argv.indexOf("raw") + 1, -2) : argv;
      expect(conversionCommandLine(c.format), c.format).toContain(options.join(" "));
    }
  });

  it("name the converted files in the list of outputs with the same table", () => {
    expect(classify("img.vmdk").kindLabel).toBe(CONVERSION_FORMAT_INFO.vmdk.fileLabel);
    expect(classify("img.vdi").kind).toBe("conversion");
    expect(classify("img.raw.zst").kind).toBe("compressed");
  });
});
