// HTTP Range and conditional request headers (RFC 9110), for the artifact download route.

export type RangeResult = { type: "full" } | { type: "unsatisfiable" } | { type: "partial"; start: number; end: number };

/**
 * One byte range of a `size`-byte file: "bytes=a-b", "bytes=a-", "bytes=-n". A header that
 * does not parse, or asks for several ranges, is ignored (the whole file is sent), as the RFC
 * allows; a well-formed range entirely past the end is unsatisfiable.
 */
export function parseRange(header: string | null, size: number): RangeResult {
  if (header === null) return { type: "full" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { type: "full" };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return { type: "full" };
  if (a === "") {
    const n = Number(b);
    if (!Number.isSafeInteger(n)) return { type: "full" };
    if (n === 0 || size === 0) return { type: "unsatisfiable" };
    return { type: "partial", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === "" ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { type: "full" };
  if (b !== "" && end < start) return { type: "full" }; // invalid: ignored
  if (start >= size) return { type: "unsatisfiable" };
  return { type: "partial", start, end: Math.min(end, size - 1) };
}

/** A strong ETag from what changes when a file is replaced or rewritten. */
export function etagOf(st: { size: number; mtimeMs: number; ino: number }): string {
  return `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs * 1000).toString(16)}"`;
}

const opaque = (tag: string) => tag.trim().replace(/^W\//, "");

/** If-None-Match (weak comparison): does it match the current ETag? */
export function noneMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => opaque(t) === etag);
}

/**
 * If-Range: a Range applies only if the validator still names this version (strong ETag
 * comparison, or the exact Last-Modified date).
 */
export function ifRangeHolds(header: string | null, etag: string, mtimeMs: number): boolean {
  if (header === null) return true;
  const h = header.trim();
  if (h.startsWith('"') || h.startsWith("W/")) return h === etag;
  const t = Date.parse(h);
  return Number.isFinite(t) && Math.floor(t / 1000) === Math.floor(mtimeMs / 1000);
}

/** If-Modified-Since (used only without If-None-Match): unchanged since that date? */
export function notModifiedSince(header: string | null, mtimeMs: number): boolean {
  if (header === null) return false;
  const t = Date.parse(header);
  return Number.isFinite(t) && Math.floor(mtimeMs / 1000) <= Math.floor(t / 1000);
}

/** Content-Disposition for a download: a plain ASCII name plus the exact one in RFC 5987 form. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
