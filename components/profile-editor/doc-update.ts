// Small immutable updates of the profile document, typed loosely where the form is generic.
import type { ProfileDocument } from "@/server/mkosi/profile";
import type { SettingKey } from "@/server/mkosi/settings";

/** Sets a setting, or removes it (undefined) so mkosi's default applies. */
export function withSetting(doc: ProfileDocument, key: SettingKey, value: unknown): ProfileDocument {
  const settings: Record<string, unknown> = { ...doc.settings };
  if (value === undefined) delete settings[key];
  else settings[key] = value;
  return { ...doc, settings: settings as ProfileDocument["settings"] };
}

export function replaceAt<T>(list: readonly T[], index: number, item: T): T[] {
  return list.map((x, i) => (i === index ? item : x));
}

export function removeAt<T>(list: readonly T[], index: number): T[] {
  return list.filter((_, i) => i !== index);
}

export function move<T>(list: readonly T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length) return [...list];
  const next = [...list];
  const [item] = next.splice(from, 1);
  if (item !== undefined) next.splice(to, 0, item);
  return next;
}

/** Deep equality of JSON-like values; keys holding undefined count as absent (as after a JSON round trip). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!sameJson(ra[k], rb[k])) return false;
  return true;
}
