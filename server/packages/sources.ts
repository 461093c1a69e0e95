// Which apt sources a profile's packages come from, in the shape a package index is keyed by.
// Pure. A profile with repositories renders them as mkosi's sources file (render.ts), so those
// are the sources; without them mkosi writes its own list from Mirror=, which is followed here
// as mkosi 24 does it (server/mkosi is the one place that knows the profile, this the index).
import { createHash } from "node:crypto";
import type { IndexSource } from "@/server/db/schema";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { renderSources } from "@/server/mkosi/render";

export interface IndexSpec {
  sources: IndexSource[];
  /** Debian's architecture name. */
  architecture: string;
  /** Digest of the normalised sources and architecture: profiles with the same share an index. */
  key: string;
}

export type IndexSpecResult = { ok: true; spec: IndexSpec } | { ok: false; reason: string };

/** mkosi's Architecture= values as Debian names them. */
const DEB_ARCH: Record<string, string> = { "x86-64": "amd64", arm64: "arm64" };

/** The keyrings mkosi 24 names for its own lists (from the distribution's keyring package). */
const KEYRINGS: Record<string, string> = {
  debian: "/usr/share/keyrings/debian-archive-keyring.gpg",
  ubuntu: "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
};

const uniq = (xs: readonly string[]) => [...new Set(xs)];

/** Sources in one spelling: no trailing slash on URIs, no repeated suites or components. */
export function normaliseSources(sources: readonly IndexSource[]): IndexSource[] {
  return sources.map((s) => ({
    uri: s.uri.replace(/\/+$/, ""),
    suites: uniq(s.suites),
    components: uniq(s.components),
    ...(s.signedBy ? { signedBy: s.signedBy } : {}),
  }));
}

export function indexKey(sources: readonly IndexSource[], architecture: string): string {
  return createHash("sha256").update(JSON.stringify({ sources, architecture })).digest("hex").slice(0, 16);
}

export function specFor(sources: readonly IndexSource[], architecture: string): IndexSpec {
  const norm = normaliseSources(sources);
  return { sources: norm, architecture, key: indexKey(norm, architecture) };
}

/** The apt sources of a profile's packages, or why they cannot be told. */
export function indexSpec(doc: ProfileDocument): IndexSpecResult {
  const s = doc.settings;
  const architecture = DEB_ARCH[s.Architecture ?? "x86-64"] ?? "amd64";
  if (doc.repositories.length > 0) return { ok: true, spec: specFor(doc.repositories, architecture) };

  const distribution = s.Distribution ?? "debian";
  if (!s.Mirror)
    return {
      ok: false,
      reason: "the profile leaves its repositories to mkosi's built-in list (no Mirror and no repositories), so they cannot be indexed: set Mirror or add repositories",
    };
  if (!s.Release) return { ok: false, reason: "the profile names no Release, so its suites are not known" };
  // mkosi 24's own list: the release and its -updates suite on the mirror. Its security suite
  // is never on the mirror (a fixed host), so it is not indexed: its packages are in the release too.
  const components = ["main", ...(distribution === "ubuntu" && !["focal", "jammy"].includes(s.Release) ? ["universe"] : []), ...(s.Repositories ?? [])];
  const suites = ["unstable", "sid"].includes(s.Release) ? [s.Release] : [s.Release, `${s.Release}-updates`];
  return { ok: true, spec: specFor([{ uri: s.Mirror, suites, components, signedBy: KEYRINGS[distribution] }], architecture) };
}

/** The deb822 sources file apt reads for an index (the same text mkosi gets). */
export const sourcesText = (spec: IndexSpec) => renderSources(spec.sources);

/** The sources in a sentence ("http://mirror/debian bookworm bookworm-updates (main)"). */
export const describeSources = (sources: readonly IndexSource[]) =>
  sources.map((s) => `${s.uri} ${s.suites.join(" ")} (${s.components.join(" ")})`).join("; ");
