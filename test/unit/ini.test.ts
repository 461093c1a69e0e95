import { describe, expect, it } from "vitest";
import { IniError, iniSettings, parseIni, parseUnitFile, pyDedent, scanIni } from "@/server/mkosi/ini";

const settings = (text: string) => iniSettings(parseIni(text)).map(({ section, key, value }) => [section, key, value]);

describe("parseIni (mkosi 24's parse_ini)", () => {
  it("reads a real-world mkosi.conf with multi-line lists, commas and comments", () => {
    const text = [
      "# Appliance image",
      "[Distribution]",
      "Distribution=debian",
      "Release=bookworm   ; stable",
      "",
      "[Content]",
      "Packages=",
      "        systemd,udev",
      "        dbus # the bus",
      "        # linux-image-cloud-amd64",
      "        linux-image-amd64",
      "Packages=vim",
      "KernelCommandLine=console=ttyS0 quiet",
      "",
    ].join("\n");
    expect(settings(text)).toEqual([
      ["Distribution", "Distribution", "debian"],
      ["Distribution", "Release", "bookworm"],
      ["Content", "Packages", "\nsystemd,udev\ndbus\nlinux-image-amd64"],
      ["Content", "Packages", "vim"],
      ["Content", "KernelCommandLine", "console=ttyS0 quiet"],
    ]);
  });

  it("cuts a line at '#' or ';' anywhere, also inside what looks like a value", () => {
    expect(settings("[Content]\nRootPassword=abc#def\nHostname=a;b\n")).toEqual([
      ["Content", "RootPassword", "abc"],
      ["Content", "Hostname", "a"],
    ]);
  });

  it("keeps an empty assignment (a reset) and repeated keys in order", () => {
    expect(settings("[Content]\nPackages=a\nPackages=\nPackages=b\n")).toEqual([
      ["Content", "Packages", "a"],
      ["Content", "Packages", ""],
      ["Content", "Packages", "b"],
    ]);
  });

  it("reports section markers with their line", () => {
    const entries = parseIni("[Match]\nDistribution=debian\n\n[Content]\nPackages=a\n");
    expect(entries.filter((e) => e.type === "section").map((e) => [e.section, e.line])).toEqual([
      ["Match", 1],
      ["Content", 4],
    ]);
    expect(entries.find((e) => e.type === "setting" && e.key === "Packages")?.line).toBe(5);
  });

  it("splits only on the first '=' and strips around it", () => {
    expect(settings("[Content]\n  Environment = A=B=C  \n")).toEqual([["Content", "Environment", "A=B=C"]]);
  });

  it("dedents the whole file first, like textwrap.dedent", () => {
    expect(pyDedent("  a\n    b\n  \n  c")).toBe("a\n  b\n\nc");
    expect(pyDedent(" a\n\tb")).toBe(" a\n\tb");
    // An indented file is read as if it were not indented.
    expect(settings("    [Content]\n    Packages=a\n        b\n")).toEqual([["Content", "Packages", "a\nb"]]);
  });

  it("treats an indented line as a continuation, even one that looks like a section or setting", () => {
    expect(settings("[Content]\nPackages=a\n [Output]\n Format=disk\n")).toEqual([["Content", "Packages", "a\n[Output]\nFormat=disk"]]);
  });

  it("does not continue a value across a section header", () => {
    expect(settings("[Content]\n  Packages=a\n[Output]\n  Format=disk\n")).toEqual([
      ["Content", "Packages", "a"],
      ["Output", "Format", "disk"],
    ]);
  });

  it("reads CRLF and lone CR line ends like Python's universal newlines", () => {
    expect(settings("[Content]\r\nPackages=a\r\n  b\rHostname=h\r\n")).toEqual([
      ["Content", "Packages", "a\nb"],
      ["Content", "Hostname", "h"],
    ]);
  });

  it("splits lines where Python's splitlines does (vertical tab, form feed, U+2028)", () => {
    expect(settings("[Content]\nPackages=a\u2028Hostname=h\vLocale=C\n")).toEqual([
      ["Content", "Packages", "a"],
      ["Content", "Hostname", "h"],
      ["Content", "Locale", "C"],
    ]);
  });

  it.each([
    ["Packages=a\n", 1, /outside of a section/],
    ["[Content\nPackages=a\n", 1, /not a valid section/],
    ["[  ]\n", 1, /cannot be empty/],
    ["[Content]\nPackages\n", 2, /must be followed by '='/],
    ["[Content]\n=a\n", 2, /missing setting name/],
    ["\ufeff[Content]\nPackages=a\n", 1, /outside of a section/],
  ])("rejects malformed input %j with the line number", (text, line, message) => {
    let error: unknown;
    try {
      parseIni(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IniError);
    expect((error as IniError).line).toBe(line);
    expect((error as IniError).message).toMatch(message);
    expect((error as IniError).message).toMatch(new RegExp(`^line ${line}: `));
  });

  it("skips unchecked lines in sections not asked for, like mkosi's only_sections", () => {
    const text = "[Foo]\nthis is not a setting\n[Content]\nPackages=a\n";
    expect(() => parseIni(text)).toThrow(IniError);
    expect(iniSettings(parseIni(text, { onlySections: ["Content"] })).map((e) => e.value)).toEqual(["a"]);
  });

  it("an '=' or '[' in a value does not start a new setting or section", () => {
    expect(settings("[Content]\nHostname=[Output]\nLocale=Format=disk\n")).toEqual([
      ["Content", "Hostname", "[Output]"],
      ["Content", "Locale", "Format=disk"],
    ]);
  });
});

describe("parseUnitFile (mkosi.repart/*.conf)", () => {
  it("reads a partition definition with repeated CopyFiles", () => {
    const text = "# ESP\n[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/boot:/\nCopyFiles=/efi:/\n  ; indented comment\nSizeMinBytes=512M\n";
    expect(iniSettings(parseUnitFile(text)).map((e) => [e.key, e.value])).toEqual([
      ["Type", "esp"],
      ["Format", "vfat"],
      ["CopyFiles", "/boot:/"],
      ["CopyFiles", "/efi:/"],
      ["SizeMinBytes", "512M"],
    ]);
  });

  it("keeps '#' and ';' inside values (comments only start a line)", () => {
    expect(iniSettings(parseUnitFile("[Partition]\nLabel=a#b;c\n"))[0]?.value).toBe("a#b;c");
  });

  it("does not join indented lines onto the previous value", () => {
    expect(() => parseUnitFile("[Partition]\nType=root\n  more\n")).toThrow(/line 3: .*Key=value/);
  });

  it.each([
    ["Type=root\n", 1, /outside of a section/],
    ["[Partition]\nType=root \\\n", 2, /continues onto the next line/],
    ["[Partition\n", 1, /not a valid section/],
    ["[Partition]\n=x\n", 2, /missing setting name/],
  ])("rejects %j at line %i", (text, line, message) => {
    expect(() => parseUnitFile(text)).toThrow(message);
    try {
      parseUnitFile(text);
    } catch (e) {
      expect((e as IniError).line).toBe(line);
    }
  });
});

describe("scanIni", () => {
  it("reads on past a line mkosi would stop at, in every section, as mkosi joins and strips values", () => {
    const text = "[Content]\nPackages=a\n  b ; comment\nnot a setting\n[Anything]\n@Credentials = /etc\n[Host\nBuildScripts=x\n";
    expect(scanIni(text).map((s) => [s.section, s.key, s.value])).toEqual([
      ["Content", "Packages", "a\nb"],
      ["Anything", "@Credentials", "/etc"],
      ["Host", "BuildScripts", "x"],
    ]);
    expect(() => parseIni(text)).toThrow();
  });
});
