// Debian's control-file formats as apt downloads them: the stanzas of a Packages list, the
// fields of a Release file, relationship fields (Provides, Depends) and version ordering.
// Pure: the callers read the files.

/** The fields of a Packages stanza the index keeps. */
export interface PackageStanza {
  name: string;
  version: string;
  architecture: string;
  section: string | null;
  /** Installed-Size, KiB. */
  installedKib: number | null;
  /** Size of the .deb, bytes. */
  downloadBytes: number | null;
  summary: string;
  description: string;
  provides: string | null;
  depends: string | null;
  preDepends: string | null;
  recommends: string | null;
  source: string | null;
  essential: boolean;
}

// The kept fields, by the length of their name: a line's name is compared in place, not cut out.
const FIELDS = ["Package", "Version", "Architecture", "Section", "Installed-Size", "Size", "Description", "Provides", "Depends", "Pre-Depends", "Recommends", "Source", "Essential"] as const;
type Field = (typeof FIELDS)[number];
const BY_LENGTH = new Map<number, Field[]>();
for (const f of FIELDS) BY_LENGTH.set(f.length, [...(BY_LENGTH.get(f.length) ?? []), f]);

const num = (v: string | undefined) => {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
};

// A list read as latin1 has one char per byte (a copy, no decoding; most of it is ASCII): a
// value with bytes above 0x7f is decoded as the UTF-8 it is.
const HIGH = /[\u0080-\u00ff]/;
const asUtf8 = (v: string) => (HIGH.test(v) ? Buffer.from(v, "latin1").toString("utf8") : v);
const same = (v: string) => v;

const CONTINUATION = /\n[ \t](?:\.(?=\n|$))?/g;

/** One field's value in the stanza at [pos, end), found without reading the others. */
function fieldAt(text: string, pos: number, end: number, key: string): string | undefined {
  let at = pos;
  if (!text.startsWith(`${key}:`, pos)) {
    at = text.indexOf(`\n${key}:`, pos);
    if (at < 0 || at >= end) return undefined;
    at += 1;
  }
  at += key.length + 1;
  let eol = text.indexOf("\n", at);
  if (eol < 0 || eol > end) eol = end;
  return text.slice(at, eol).trim();
}

/**
 * The stanzas of a Packages list, given as text or as the file's bytes. A hand-written scan
 * over the text (no per-line split of the whole 50 MB file): a Debian main list has some
 * 63,000 stanzas, and this runs on every refresh. `wanted`, when given, is asked first with a
 * stanza's name, version and architecture, and the stanza is read only if it says yes (a
 * changed list needs only its new versions).
 */
export function* parsePackages(
  input: string | Buffer,
  wanted?: (name: string, version: string, architecture: string) => boolean,
): Generator<PackageStanza> {
  const text = typeof input === "string" ? input : input.toString("latin1");
  const dec = typeof input === "string" ? same : asUtf8;
  const opt = (v: string | undefined) => (v === undefined ? null : dec(v));
  const n = text.length;
  let pos = 0;
  while (pos < n) {
    let end = text.indexOf("\n\n", pos);
    if (end < 0) end = n;
    if (wanted) {
      const name = fieldAt(text, pos, end, "Package");
      const version = fieldAt(text, pos, end, "Version");
      if (!name || !version || !wanted(dec(name), dec(version), dec(fieldAt(text, pos, end, "Architecture") ?? "all"))) {
        pos = end + 2;
        continue;
      }
    }
    const f: Partial<Record<Field, string>> = {};
    let last: Field | null = null;
    // The description's continuation lines, as one range of the text (cut once, not per line).
    let more = -1;
    let moreEnd = -1;
    for (let i = pos; i < end; ) {
      let eol = text.indexOf("\n", i);
      if (eol < 0 || eol > end) eol = end;
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9) {
        // A continuation line; only the description's are kept.
        if (last === "Description") {
          if (more < 0) more = i - 1;
          moreEnd = eol;
        }
      } else {
        last = null;
        const colon = text.indexOf(":", i);
        if (colon > i && colon < eol) {
          for (const key of BY_LENGTH.get(colon - i) ?? []) {
            if (!text.startsWith(key, i)) continue;
            // One slice, without the blanks around the value (trim() would copy it again).
            let a = colon + 1;
            let b = eol;
            while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
            while (b > a && text.charCodeAt(b - 1) <= 32) b--;
            f[key] = text.slice(a, b);
            last = key;
            break;
          }
        }
      }
      i = eol + 1;
    }
    pos = end + 2;
    const name = f.Package;
    const version = f.Version;
    if (!name || !version) continue;
    // Each continuation line without its first blank; " ." stands for an empty line.
    const long = more < 0 ? "" : text.slice(more, moreEnd).replace(CONTINUATION, "\n");
    const d = f.Description === undefined ? "" : dec(f.Description + long);
    const nl = d.indexOf("\n");
    yield {
      name: dec(name),
      version: dec(version),
      architecture: f.Architecture === undefined ? "all" : dec(f.Architecture),
      section: opt(f.Section),
      installedKib: num(f["Installed-Size"]),
      downloadBytes: num(f.Size),
      summary: nl < 0 ? d : d.slice(0, nl),
      description: nl < 0 ? "" : d.slice(nl + 1),
      provides: opt(f.Provides),
      depends: opt(f.Depends),
      preDepends: opt(f["Pre-Depends"]),
      recommends: opt(f.Recommends),
      // "Source: foo (1.2-1)" names the source package and, when it differs, its version.
      source: f.Source === undefined ? null : dec(f.Source).replace(/\s*\(.*\)$/, ""),
      essential: f.Essential === "yes",
    };
  }
}

/** The names a Provides field gives ("mail-transport-agent, foo (= 1.0)" -> both names). */
export function providedNames(field: string | null): string[] {
  if (!field) return [];
  return field
    .split(",")
    .map((p) => p.trim().replace(/\s*\(.*\)$/, "").replace(/:any$/, ""))
    .filter(Boolean);
}

/** The header fields of a Release or InRelease file (the signature around it is skipped). */
export function parseRelease(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let body = text;
  const signed = /-----BEGIN PGP SIGNED MESSAGE-----\n(?:[^\n]+\n)*\n([\s\S]*?)\n-----BEGIN PGP SIGNATURE-----/.exec(text);
  if (signed) body = signed[1]!;
  for (const line of body.split("\n")) {
    if (line.startsWith(" ") || line.startsWith("\t")) continue; // the checksum lists
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!, m[2]!);
  }
  return fields;
}

/** apt's default pin of a release: NotAutomatic 1, with ButAutomaticUpgrades 100, else 500. */
export function releasePriority(release: Map<string, string>): number {
  if (release.get("NotAutomatic") === "yes") return release.get("ButAutomaticUpgrades") === "yes" ? 100 : 1;
  return 500;
}

// --- versions: dpkg's ordering (deb-version(7)) ------------------------------------------------

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === "~") return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let diff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = i < a.length && !/[0-9]/.test(a[i]!) ? a[i] : undefined;
      const bc = j < b.length && !/[0-9]/.test(b[j]!) ? b[j] : undefined;
      const d = order(ac) - order(bc);
      if (d !== 0) return d;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (diff === 0) diff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (diff !== 0) return diff;
  }
  return 0;
}

function split(v: string): [number, string, string] {
  const colon = v.indexOf(":");
  const epoch = colon > 0 ? Number(v.slice(0, colon)) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf("-");
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ""];
}

/** Negative, zero or positive as version a sorts before, equal to or after b. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return compareFragment(ua, ub) || compareFragment(ra, rb);
}
