// Readers for the two INI dialects of an mkosi project. Pure.
//
// parseIni replicates mkosi 24's own parse_ini (mkosi/config.py) step by step, because the
// importer must read a project exactly as mkosi does: '#' and ';' anywhere on a line start a
// comment, indented lines continue the previous value, the whole file is dedented first.
// parseUnitFile reads systemd-style files (mkosi.repart/*.conf), where comments only start
// a line and values are single-line.

export interface IniSection {
  type: "section";
  section: string;
  /** 1-based line of the `[Section]` header. */
  line: number;
}

export interface IniSetting {
  type: "setting";
  section: string;
  key: string;
  /** As mkosi reads it: stripped, continuation lines joined with "\n". */
  value: string;
  /** 1-based line of the `Key=` line. */
  line: number;
}

export type IniEntry = IniSection | IniSetting;

export class IniError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "IniError";
  }
}

// Python's str.isspace() set: what mkosi's strip() and line[0].isspace() use.
const PY_SPACE = new Set(
  [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
    0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000].map((c) => String.fromCharCode(c)),
);
const isPySpace = (c: string | undefined) => c !== undefined && PY_SPACE.has(c);

function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPySpace(s[a])) a++;
  while (b > a && isPySpace(s[b - 1])) b--;
  return s.slice(a, b);
}

// str.splitlines(): these separators, with "\r\n" as one; no empty line after a final separator.
const PY_LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

function pySplitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(PY_LINE_BREAK);
  if (PY_LINE_BREAK.test(text.slice(-1))) lines.pop();
  return lines;
}

/** textwrap.dedent: removes the longest run of spaces and tabs common to all non-blank lines. */
export function pyDedent(text: string): string {
  const lines = text.split("\n").map((l) => (/^[ \t]+$/.test(l) ? "" : l));
  let margin: string | undefined;
  for (const l of lines) {
    const m = /^([ \t]*)[^ \t\n]/.exec(l);
    if (!m) continue;
    const indent = m[1]!;
    if (margin === undefined || margin.startsWith(indent)) margin = indent;
    else if (!indent.startsWith(margin)) {
      let i = 0;
      while (i < margin.length && margin[i] === indent[i]) i++;
      margin = margin.slice(0, i);
    }
  }
  if (!margin) return lines.join("\n");
  const m = margin;
  return lines.map((l) => (l.startsWith(m) ? l.slice(m.length) : l)).join("\n");
}

export interface ParseIniOptions {
  /** Like mkosi's only_sections: lines in other sections are skipped without being checked. */
  onlySections?: Iterable<string>;
}

/**
 * mkosi 24's parse_ini on a file's text. Throws IniError where mkosi would stop ("die").
 * Unlike mkosi it reports a section at its header rather than at its end.
 */
export function parseIni(text: string, opts: ParseIniOptions = {}): IniEntry[] {
  const only = opts.onlySections ? new Set(opts.onlySections) : undefined;
  const out: IniEntry[] = [];
  let section: string | undefined;
  let pending: { key: string; value: string; line: number } | undefined;

  // Path.read_text() uses universal newlines before mkosi dedents and splits.
  const lines = pySplitLines(pyDedent(text.replace(/\r\n?/g, "\n")));

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    let line = raw;
    for (const c of ["#", ";"]) {
      const at = line.indexOf(c);
      if (at >= 0) line = line.slice(0, at);
    }
    if (pyStrip(line) === "") return;

    if (section !== undefined && pending && isPySpace(line[0])) {
      pending.value = `${pending.value}\n${pyStrip(line)}`;
      return;
    }
    if (section !== undefined && pending) {
      out.push({ type: "setting", section, ...pending });
      pending = undefined;
    }

    line = pyStrip(line);
    if (line[0] === "[") {
      if (line[line.length - 1] !== "]") throw new IniError(lineNo, `${line} is not a valid section`);
      const name = pyStrip(line.slice(1, -1));
      if (!name) throw new IniError(lineNo, "section name cannot be empty or whitespace");
      section = name;
      out.push({ type: "section", section, line: lineNo });
      return;
    }
    if (section === undefined) throw new IniError(lineNo, `setting ${line} is located outside of a section`);
    if (only && !only.has(section)) return;

    const eq = line.indexOf("=");
    if (eq < 0) throw new IniError(lineNo, `setting ${line} must be followed by '='`);
    if (eq === 0) throw new IniError(lineNo, `missing setting name before '=' in ${line}`);
    pending = { key: pyStrip(line.slice(0, eq)), value: pyStrip(line.slice(eq + 1)), line: lineNo };
  });
  if (section !== undefined && pending) out.push({ type: "setting", section, ...pending });
  return out;
}

/**
 * Every setting mkosi could read from a file, for finding what it may run: like parseIni, but
 * a line mkosi would stop at is skipped and reading goes on, and every section counts (mkosi
 * reads only its own, and stops at the first bad line). It finds at least what mkosi reads.
 */
export function scanIni(text: string): IniSetting[] {
  const out: IniSetting[] = [];
  let section: string | undefined;
  let pending: { key: string; value: string; line: number } | undefined;
  const flush = () => {
    if (section !== undefined && pending) out.push({ type: "setting", section, ...pending });
    pending = undefined;
  };
  pySplitLines(pyDedent(text.replace(/\r\n?/g, "\n"))).forEach((raw, index) => {
    let line = raw;
    for (const c of ["#", ";"]) {
      const at = line.indexOf(c);
      if (at >= 0) line = line.slice(0, at);
    }
    if (pyStrip(line) === "") return;
    if (pending && isPySpace(line[0])) {
      pending.value = `${pending.value}\n${pyStrip(line)}`;
      return;
    }
    flush();
    line = pyStrip(line);
    if (line[0] === "[") {
      const name = pyStrip(line.slice(1, line.endsWith("]") ? -1 : undefined));
      if (name) section = name;
      return;
    }
    const eq = line.indexOf("=");
    if (section === undefined || eq <= 0) return;
    pending = { key: pyStrip(line.slice(0, eq)), value: pyStrip(line.slice(eq + 1)), line: index + 1 };
  });
  flush();
  return out;
}

/** The settings of parsed entries, without the section markers. */
export function iniSettings(entries: readonly IniEntry[]): IniSetting[] {
  return entries.filter((e): e is IniSetting => e.type === "setting");
}

/**
 * A systemd-style file as systemd-repart reads it, restricted to what can be written back
 * unchanged: comments only where a line starts (after blanks) with '#' or ';', one line per
 * value. Throws IniError on lines systemd would ignore or join (no '=', outside a section,
 * a trailing backslash), so nothing is lost silently.
 */
export function parseUnitFile(text: string): IniEntry[] {
  const out: IniEntry[] = [];
  let section: string | undefined;
  text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .forEach((raw, index) => {
      const lineNo = index + 1;
      const line = raw.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "");
      if (line === "" || line[0] === "#" || line[0] === ";") return;
      if (line.endsWith("\\")) throw new IniError(lineNo, "a line ending in '\\' continues onto the next line, which is not supported here");
      if (line[0] === "[") {
        if (!line.endsWith("]") || line.length < 3) throw new IniError(lineNo, `${line} is not a valid section`);
        section = line.slice(1, -1);
        if (/[\[\]]/.test(section)) throw new IniError(lineNo, `${line} is not a valid section`);
        out.push({ type: "section", section, line: lineNo });
        return;
      }
      if (section === undefined) throw new IniError(lineNo, `${line} is outside of a section`);
      const eq = line.indexOf("=");
      if (eq < 0) throw new IniError(lineNo, `${line} must be a Key=value assignment`);
      const key = line.slice(0, eq).replace(/[ \t]+$/, "");
      if (!key) throw new IniError(lineNo, `missing setting name before '=' in ${line}`);
      out.push({ type: "setting", section, key, value: line.slice(eq + 1).replace(/^[ \t]+/, ""), line: lineNo });
    });
  return out;
}
