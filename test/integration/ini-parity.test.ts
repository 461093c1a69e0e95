// parseIni against mkosi 24's own parse_ini, run by the system Python on the same texts.
import { execa } from "execa";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIni } from "@/server/mkosi/ini";

const PYTHON = "/usr/bin/python3";
const HARNESS = `
import json, logging, sys, tempfile, os
from pathlib import Path
from mkosi.config import parse_ini
logging.disable(logging.CRITICAL)
out = []
with tempfile.TemporaryDirectory() as d:
    for i, text in enumerate(json.load(sys.stdin)):
        p = Path(d) / f"{i}.conf"
        p.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            out.append(list(parse_ini(p)))
        except SystemExit:
            out.append("error")
print(json.dumps(out))
`;

const available = existsSync(PYTHON) && existsSync("/usr/lib/python3/dist-packages/mkosi/config.py");

/** Our entries in parse_ini's shape: a section is reported when it ends, as (section, "", ""). */
function asMkosi(text: string): unknown {
  let entries;
  try {
    entries = parseIni(text);
  } catch {
    return "error";
  }
  const out: [string, string, string][] = [];
  let current: string | undefined;
  for (const e of entries) {
    if (e.type === "section") {
      if (current !== undefined) out.push([current, "", ""]);
      current = e.section;
    } else out.push([e.section, e.key, e.value]);
  }
  if (current !== undefined) out.push([current, "", ""]);
  return out;
}

async function mkosiParse(texts: string[]): Promise<unknown[]> {
  const r = await execa(PYTHON, ["-c", HARNESS], { input: JSON.stringify(texts), env: { PYTHONUTF8: "1", PYTHONPATH: "" } });
  return JSON.parse(r.stdout) as unknown[];
}

// A small deterministic generator, so a failure can be reproduced.
function* random(seed: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    yield s / 2 ** 32;
  }
}

const PIECES = [
  "[Content]", "[Output]", "[Match]", "[ Distribution ]", "[]", "[x", "Packages=", "Packages=a,b", "Key = v ", "=v", "noequals",
  "# c", "; c", "a#b", "a;b", " ", "  ", "\t", "\n", "\n", "\n", "\r\n", "\r", "\v", "\f", "\u2028", "\x85", "\x1f", "\ufeff",
  "\u00a0", "x", "=", "[", "]", "%v",
  // Well-formed lines, so that many texts parse and the values get compared too.
  "\nPackages=a", "\nPackages=a", "\n  b", "\n  b", "\n\tc", "\nHostname=h", "\nHostname=h", "\n[Output]\n", "\nK=", "\n",
];

describe.skipIf(!available)("parseIni matches mkosi 24's parse_ini", () => {
  it("on hand-written edge cases", async () => {
    const texts = [
      "[Content]\nPackages=a,\n   b ; c\n  # x\n\tc\n",
      "    [Content]\n    Packages=a\n        b\n",
      "[Content]\nPackages=a\n [Output]\n Format=disk\n",
      "[Content]\nPackages=a\u2028Hostname=h\vLocale=C\n",
      "[Content]\r\nPackages=a\r\n  b\rHostname=h\r\n",
      "\ufeff[Content]\nPackages=a\n",
      "[Content]\nPackages=\n\n  a\n\n  b\n",
      "[Content]\nHostname=a\x1fb\n",
      "[Content]\nHostname=\u00a0a\u00a0\n",
      " \t[Content]\n \tPackages=a\n \t\tb\n",
      "\t[Content]\n  Packages=a\n",
      "[Content]\n  \n\tPackages=a\n",
      "[Foo]\nbar\n",
      "",
      "# only a comment\n",
    ];
    const theirs = await mkosiParse(texts);
    texts.forEach((t, i) => expect(asMkosi(t), JSON.stringify(t)).toEqual(theirs[i]));
  });

  it("on 1500 random texts of tricky pieces", async () => {
    const rnd = random(20240917);
    const next = () => rnd.next().value as number;
    const texts = Array.from({ length: 1500 }, () => {
      const n = 1 + Math.floor(next() * 24);
      let t = next() < 0.7 ? "[Content]\n" : "";
      for (let i = 0; i < n; i++) t += PIECES[Math.floor(next() * PIECES.length)]!;
      return t;
    });
    const theirs = await mkosiParse(texts);
    const mismatches = texts.filter((t, i) => JSON.stringify(asMkosi(t)) !== JSON.stringify(theirs[i]));
    expect(mismatches.slice(0, 5).map((t) => JSON.stringify(t))).toEqual([]);
    // The generator must exercise both outcomes, or the comparison proves little.
    expect(theirs.filter((r) => r === "error").length).toBeGreaterThan(100);
    expect(theirs.filter((r) => r !== "error" && (r as unknown[]).length > 2).length).toBeGreaterThan(100);
  });
});
