// Step lines and failure lines from real mkosi 24.3 output (test/fixtures, mirror hosts
// replaced): a build without a terminal (plain text), the same build under the pty runner
// (colours), and a build that fails because a package does not exist.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildOutputParser, parseRecord, stripAnsi } from "@/server/builds/steps";

const fixture = (name: string) => readFileSync(join(__dirname, "..", "fixtures", name));
const PLAIN = fixture("mkosi-24.3-debian-build.log");
const TTY = fixture("mkosi-24.3-debian-build.tty.log");
const FAILED = fixture("mkosi-24.3-debian-missing-package.tty.log");

/** Feeds bytes in chunks (cut anywhere, even inside a character), decoding as the runner does. */
function parse(bytes: Buffer, cut: (i: number) => number = () => bytes.length, clock: (line: number) => number = () => 0): BuildOutputParser {
  const p = new BuildOutputParser();
  const decoder = new TextDecoder("utf-8");
  let n = 0;
  for (let i = 0; i < bytes.length; ) {
    const size = Math.max(1, cut(i));
    p.feed(decoder.decode(bytes.subarray(i, i + size), { stream: true }), clock(n++));
    i += size;
  }
  p.feed(decoder.decode(), clock(n));
  p.end(clock(n + 1));
  return p;
}

function randomCuts(seed: number, max: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return 1 + (s % max);
  };
}

// The two runs had their workspace in different folders.
const normal = (name: string) => name.replace(/\/\S*mkosi-workspace-\w+/g, "<workspace>");
const outline = (p: BuildOutputParser) => p.steps.map((s) => `${s.depth} ${normal(s.name)}`);

const TOP_LEVEL = ["Copying in package manager file trees…", "Syncing package manager metadata for immutable-debian image", "Building immutable-debian image"];
const IN_BUILD = [
  "Copying in package manager file trees…",
  "Installing Debian",
  "Running depmod for 6.1.0-56-amd64",
  "Copying in extra file trees…",
  "Setting up autologin…",
  "Installing systemd-boot…",
  "Generating system users",
  "Generating volatile files",
  "Applying presets…",
  "Applying first boot settings",
  "Generating hardware database",
  "Recording packages in manifest…",
  "Generating disk image",
  "Building default initrd",
  "Running modinfo to fetch kernel module dependencies",
  "Calculating required kernel modules and firmware",
  "Creating cpio archive <workspace>/kernel-modules-6.1.0-56-amd64.initrd…",
  "Compressing <workspace>/kernel-modules-6.1.0-56-amd64.initrd with zstd",
  "Generating unified kernel image for kernel version 6.1.0-56-amd64",
  "Formatting ESP/XBOOTLDR partitions",
  "Extracting partitions",
  "Calculating SHA256SUMS…",
  "Saving manifest immutable-debian_1.manifest",
];

describe("steps of a real Debian build", () => {
  for (const [name, bytes] of [["plain", PLAIN], ["terminal", TTY]] as const) {
    it(`finds the top-level steps and the steps inside the build (${name} output)`, () => {
      const p = parse(bytes);
      expect(p.steps.filter((s) => s.depth === 0).map((s) => s.name)).toEqual(TOP_LEVEL);
      expect(p.steps.filter((s) => s.depth === 1).map((s) => normal(s.name))).toEqual(IN_BUILD);
      // The initrd is built inside the build: its steps are one level deeper.
      const initrd = p.steps.filter((s) => s.depth === 2).map((s) => normal(s.name));
      expect(initrd.slice(0, 2)).toEqual(["Copying in package manager file trees…", "Installing Debian"]);
      expect(initrd).toHaveLength(11);
      expect(p.steps).toHaveLength(37);
      // Warnings, notices and size reports are not steps.
      for (const s of p.steps) expect(s.name).not.toMatch(/not found, not adding microcode|is a dependency of|size is .* consumes/);
    });
  }

  it("reads the same timeline from the coloured and the plain output", () => {
    expect(outline(parse(TTY))).toEqual(outline(parse(PLAIN)));
  });

  it("gets the same steps however the output is cut into chunks", () => {
    const whole = outline(parse(TTY));
    for (const seed of [1, 2, 3]) expect(outline(parse(TTY, randomCuts(seed, 4096)))).toEqual(whole);
    // One byte at a time: every ANSI code, every "‣" and every "\r\n" split.
    expect(outline(parse(TTY, () => 1))).toEqual(whole);
    expect(outline(parse(PLAIN, randomCuts(9, 33)))).toEqual(outline(parse(PLAIN)));
  });

  it("times each step from its line to the next line at its level or above", () => {
    // The clock ticks once per chunk; one chunk per line gives each line its own time.
    const lines = TTY.toString("utf8").split("\n").map((l) => Buffer.from(`${l}\n`));
    let k = 0;
    const p = new BuildOutputParser();
    for (const l of lines) p.feed(l.toString("utf8"), 1000 + 10 * k++);
    p.end(1000 + 10 * k);
    const steps = p.steps;
    for (const [i, s] of steps.entries()) {
      expect(s.endedAt).not.toBeNull();
      expect(s.endedAt!).toBeGreaterThanOrEqual(s.startedAt);
      const next = steps.slice(i + 1).find((n) => n.depth <= s.depth);
      if (next) expect(s.endedAt).toBe(next.startedAt);
      else expect(s.endedAt).toBe(1000 + 10 * k);
      // A nested step lies within the step it is part of.
      const parent = steps.slice(0, i).findLast((x) => x.depth < s.depth);
      if (parent) {
        expect(s.startedAt).toBeGreaterThanOrEqual(parent.startedAt);
        expect(s.endedAt!).toBeLessThanOrEqual(parent.endedAt!);
      }
    }
    const install = steps.find((s) => s.name === "Installing Debian" && s.depth === 1)!;
    const line = TTY.toString("utf8").split("\n").findIndex((l) => stripAnsi(l).startsWith("‣  Installing Debian"));
    expect(install.startedAt).toBe(1000 + 10 * line);
  });

  it("tells what is running while the build is under way", () => {
    const text = TTY.toString("utf8");
    const cut = text.indexOf("Reading package lists", text.indexOf("Installing Debian"));
    const p = new BuildOutputParser();
    p.feed(text.slice(0, cut), 5);
    expect(p.current()?.name).toBe("Installing Debian");
    expect(p.steps.filter((s) => s.endedAt === null).map((s) => s.name)).toEqual(["Building immutable-debian image", "Installing Debian"]);
  });
});

describe("mkosi's records", () => {
  it("tells steps from warnings, errors and plain notices by colour on a terminal", () => {
    expect(parseRecord("‣  \x1b[0;1;39mInstalling Debian\x1b[0m", true)).toEqual({ kind: "step", depth: 1, text: "Installing Debian" });
    expect(parseRecord("‣ \x1b[33;1maes is a dependency of cifs\x1b[0m", true)?.kind).toBe("warning");
    expect(parseRecord('‣ \x1b[31;1m"apt-get install x" returned non-zero exit code 100.\x1b[0m', true)?.kind).toBe("error");
    expect(parseRecord("‣ Uncoloured notice", true)?.kind).toBe("info");
    // Steps repeated while an error unwinds are put in parentheses.
    expect(parseRecord("‣  (Installing Debian)", true)?.kind).toBe("info");
    expect(parseRecord("Get:1 http://mirror.example.invalid/debian bookworm InRelease", true)).toBeUndefined();
  });

  it("tells them by shape without colours", () => {
    expect(parseRecord("‣   Building default initrd", false)).toEqual({ kind: "step", depth: 2, text: "Building default initrd" });
    expect(parseRecord("‣ /usr/lib/firmware/{amd-ucode,intel-ucode} not found, not adding microcode", false)?.kind).toBe("info");
    expect(parseRecord('‣ "apt-get install x" returned non-zero exit code 100.', false)?.kind).toBe("info");
  });
});

describe("failure lines", () => {
  it("explain a real failed build: apt's error and mkosi's, not the noise around them", () => {
    const p = parse(FAILED, randomCuts(4, 700));
    const lines = p.failureLines();
    expect(lines).toContain("E: Unable to locate package image-studio-no-such-package");
    expect(lines.some((l) => /^‣ "apt-get .* install .*image-studio-no-such-package" returned non-zero exit code 100\.$/.test(l))).toBe(true);
    for (const l of lines) {
      expect(l).not.toMatch(/System has not been booted|Failed to connect to bus|update-alternatives/);
      expect(l).not.toContain("\x1b");
    }
    expect(lines.length).toBeLessThanOrEqual(10);
    // The build stopped inside "Installing Debian": that step is the last one.
    expect(p.steps.at(-1)?.name).toBe("Installing Debian");
  });

  it("keeps a Python traceback whole", () => {
    const p = new BuildOutputParser();
    p.feed(
      [
        "‣ \x1b[0;1;39mBuilding x image\x1b[0m",
        "some tool output",
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3/dist-packages/mkosi/__init__.py", line 1, in <module>',
        "    run()",
        "OSError: [Errno 28] No space left on device",
        "more output",
        "",
      ].join("\r\n"),
      0,
    );
    expect(p.failureLines()).toEqual([
      "Traceback (most recent call last):",
      '  File "/usr/lib/python3/dist-packages/mkosi/__init__.py", line 1, in <module>',
      "    run()",
      "OSError: [Errno 28] No space left on device",
    ]);
  });

  it("falls back to the last lines when nothing is recognisable, and keeps only a bounded number", () => {
    const p = new BuildOutputParser(50);
    for (let i = 0; i < 1000; i++) p.feed(`line ${i}\r\n`, i);
    const lines = p.failureLines();
    expect(lines).toHaveLength(15);
    expect(lines.at(-1)).toBe("line 999");
  });

  it("copes with a line of megabytes without newlines (a progress bar)", () => {
    const p = new BuildOutputParser();
    p.feed(`[${"=".repeat(1000)}]\r`.repeat(5000), 0);
    p.feed("\r\n‣ \x1b[0;1;39mNext step\x1b[0m\r\n", 1);
    expect(p.steps.map((s) => s.name)).toEqual(["Next step"]);
  });
});
