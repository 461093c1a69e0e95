// Sizes as systemd-repart reads them: a number with an optional K, M, G or T suffix, base 1024.
const UNITS = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 } as const;
export const SIZE_UNITS = ["K", "M", "G", "T"] as const;

export type SizeResult = { ok: true; bytes: number } | { ok: false; error: string };

export function parseSize(text: string): SizeResult {
  const m = /^(\d{1,15})(?:\.(\d{1,3}))?([KMGT]?)$/.exec(text);
  if (!m) return { ok: false, error: `'${text}' is not a size: write a number with an optional K, M, G or T suffix, e.g. 512M` };
  const [, whole = "0", frac = "", unit = ""] = m;
  if (frac && !unit) return { ok: false, error: `'${text}' has a fraction of a byte` };
  const bytes = Math.round(Number(`${whole}.${frac || "0"}`) * UNITS[unit as keyof typeof UNITS]);
  if (bytes <= 0) return { ok: false, error: `'${text}' must be larger than zero` };
  if (bytes > 2 ** 53 / 2) return { ok: false, error: `'${text}' is too large` };
  return { ok: true, bytes };
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
