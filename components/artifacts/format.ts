// How artifacts read on the page.
import { CONVERSION_FORMAT_INFO, CONVERSION_ORDER, conversionCommandLine } from "@/server/artifacts/conversion-formats";
import type { ConversionFormat } from "./types";

/** "3f2a9c…e41b": enough to compare by eye; the full digest goes in a title and the clipboard. */
export function shortSha(sha: string): string {
  return sha.length <= 16 ? sha : `${sha.slice(0, 10)}…${sha.slice(-6)}`;
}

export function percent(progress: number): number {
  if (!Number.isFinite(progress)) return 0;
  return Math.max(0, Math.min(100, Math.floor(progress * 100)));
}

/** The conversion buttons, in the order a user is most likely to want them. */
export const CONVERSIONS: readonly { format: ConversionFormat; label: string; help: string }[] = CONVERSION_ORDER.map((format) => ({
  format,
  label: CONVERSION_FORMAT_INFO[format].label,
  help: `${conversionCommandLine(format)}: ${CONVERSION_FORMAT_INFO[format].use}`,
}));

export const formatLabel = (f: ConversionFormat): string => CONVERSION_FORMAT_INFO[f]?.label ?? f;
