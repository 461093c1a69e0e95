// Apt source lists in both formats (deb822 .sources and one-line .list), read into the
// profile's repository shape. Pure: the host module and the importer pass the text in.
import type { Repository } from "./profile";

/** Parses deb822 stanzas; returns undefined when a stanza has fields this model cannot hold. */
export function parseDeb822(text: string): Repository[] | undefined {
  const repos: Repository[] = [];
  const stanzas = text.split(/\n[ \t]*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split("\n")) {
      if (/^\s*#/.test(line) || line.trim() === "") continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!m) return undefined;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    if (fields.size === 0) continue;
    const known = new Set(["types", "uris", "suites", "components", "signed-by"]);
    if ([...fields.keys()].some((k) => !known.has(k))) return undefined;
    const types = (fields.get("types") ?? "").split(/\s+/);
    const uris = (fields.get("uris") ?? "").split(/\s+/).filter(Boolean);
    if (!types.includes("deb") || types.length !== 1 || uris.length !== 1) return undefined;
    const signedBy = fields.get("signed-by");
    repos.push({
      uri: uris[0]!,
      suites: (fields.get("suites") ?? "").split(/\s+/).filter(Boolean),
      components: (fields.get("components") ?? "").split(/\s+/).filter(Boolean),
      ...(signedBy ? { signedBy } : {}),
    });
  }
  return repos;
}

/** Parses `deb [options] URI suite component...` lines; deb-src and options other than signed-by are skipped. */
export function parseOneLine(text: string): Repository[] {
  const repos: Repository[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? "")?.[1];
    repos.push({
      uri: m[2]!,
      suites: [m[3]!],
      components: (m[4] ?? "").split(/\s+/).filter(Boolean),
      ...(signedBy ? { signedBy } : {}),
    });
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
    .filter((r) => r.suites.length > 0);
}
