// Apt source lists in both formats (deb822 .sources and one-line .list), read into the
// profile's repository shape. Pure: the host module and the importer pass the text in.
import { repositorySchema, type Repository } from "./profile";

type Stanza = Map<string, string>;

/** deb822 stanzas as field maps (lower-case names; continuation lines joined), or undefined if malformed. */
function stanzas(text: string): Stanza[] | undefined {
  const out: Stanza[] = [];
  for (const block of text.split(/\n[ \t]*\n/)) {
    const fields: Stanza = new Map();
    let last: string | undefined;
    for (const line of block.split("\n")) {
      if (/^\s*#/.test(line) || line.trim() === "") continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!m) return undefined;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    if (fields.size > 0) out.push(fields);
  }
  return out;
}

const words = (v: string | undefined) => (v ?? "").split(/\s+/).filter(Boolean);

function toRepository(f: Stanza, uri: string): Repository | undefined {
  const signedBy = f.get("signed-by");
  const repo = { uri, suites: words(f.get("suites")), components: words(f.get("components")), ...(signedBy ? { signedBy } : {}) };
  return repositorySchema.safeParse(repo).success ? repo : undefined;
}

/**
 * Parses a sources file exactly: undefined when any stanza holds something the profile's
 * repository shape cannot say (other fields, several types or URIs, an embedded key), so an
 * importer can keep such a file as it is.
 */
export function parseDeb822(text: string): Repository[] | undefined {
  const all = stanzas(text);
  if (!all) return undefined;
  const known = new Set(["types", "uris", "suites", "components", "signed-by"]);
  const repos: Repository[] = [];
  for (const f of all) {
    const uris = words(f.get("uris"));
    if ([...f.keys()].some((k) => !known.has(k)) || f.get("types") !== "deb" || uris.length !== 1) return undefined;
    const repo = toRepository(f, uris[0]!);
    if (!repo) return undefined;
    repos.push(repo);
  }
  return repos;
}

/** Reads a host's sources file for what it can use: enabled `deb` entries with plain URIs. */
export function parseDeb822Lenient(text: string): Repository[] {
  return (stanzas(text) ?? []).flatMap((f) => {
    if (!words(f.get("types")).includes("deb") || /^no$/i.test(f.get("enabled") ?? "")) return [];
    return words(f.get("uris")).flatMap((uri) => toRepository(f, uri) ?? []);
  });
}

/** Parses `deb [options] URI suite component...` lines; deb-src and options other than signed-by are skipped. */
export function parseOneLine(text: string): Repository[] {
  const repos: Repository[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? "")?.[1];
    const repo = { uri: m[2]!, suites: [m[3]!], components: words(m[4]), ...(signedBy ? { signedBy } : {}) };
    if (repositorySchema.safeParse(repo).success) repos.push(repo);
  }
  return repos;
}

/** The host's entries that serve a release: its main archive and its security archive. */
export function reposForRelease(hostRepos: readonly Repository[], release: string): Repository[] {
  return hostRepos
    .map((r) => ({
      ...r,
      suites: r.suites.filter((s) => (s === release || s.startsWith(`${release}-`)) && !s.endsWith("-backports")),
    }))
    .filter((r) => r.suites.length > 0 && repositorySchema.safeParse(r).success);
}

/** Debian's release code names, oldest first (for reading a host's entries as another release's). */
export const DEBIAN_RELEASES = ["buster", "bullseye", "bookworm", "trixie", "forky"] as const;

/**
 * The host's archives for a Debian release: its own entries for that release, or else the
 * entries of the Debian release it runs, renamed (bookworm-updates becomes trixie-updates).
 * The same mirror serves every release.
 */
export function debianReposFor(hostRepos: readonly Repository[], release: string): Repository[] {
  const own = reposForRelease(hostRepos, release);
  if (own.length > 0) return own;
  for (const other of [...DEBIAN_RELEASES].reverse()) {
    if (other === release) continue;
    const found = reposForRelease(hostRepos, other);
    if (found.length > 0) return found.map((r) => ({ ...r, suites: r.suites.map((s) => release + s.slice(other.length)) }));
  }
  return [];
}
