// Profiles and their signing keys: a preset that signs gets a key of its own when the
// profile is made from it ("generated on first use"), and a saved profile names only a key
// the store has.
import { stat } from "node:fs/promises";
import type { Db } from "@/server/db/client";
import type { ProfileRow } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { findPreset, type HostFacts } from "@/server/mkosi/presets";
import { needsSigningKey } from "@/server/mkosi/verity";
import { createProfile, saveProfile } from "@/server/profiles/service";
import { deleteKey, freeKeyId, generateKey, keyPaths } from "./store";

/** profiles.create, with a new key for a preset that signs its image. */
export async function createProfileWithKey(db: Db, dataDir: string, input: { name: string; presetId?: string }, host: HostFacts): Promise<ProfileRow> {
  const preset = input.presetId !== undefined ? findPreset(input.presetId) : undefined;
  const doc = preset?.build(host);
  if (!doc || !needsSigningKey(doc) || doc.signingKey !== undefined) return createProfile(db, input, host);
  const id = await freeKeyId(dataDir, input.name);
  await generateKey(db, dataDir, { id, commonName: `Image Studio ${id}`.slice(0, 64) });
  try {
    return createProfile(db, { name: input.name, document: { ...doc, signingKey: id } }, host);
  } catch (e) {
    // A profile that could not be made (its name is taken) leaves no key behind.
    await deleteKey(db, dataDir, id).catch(() => undefined);
    throw e;
  }
}

/** profiles.save, refusing a signing key the store does not have. */
export async function saveProfileWithKey(db: Db, dataDir: string, input: { id: number; revision: number; document: unknown }): Promise<ProfileRow> {
  const key = (input.document as { signingKey?: unknown } | null)?.signingKey;
  if (typeof key === "string" && /^[a-z0-9-]+$/.test(key)) {
    const there = await stat(keyPaths(dataDir, key).certificate).then(
      () => true,
      () => false,
    );
    if (!there) throw AppError.field(["signingKey"], `there is no key '${key}' in the key store: choose or generate another`);
  }
  return saveProfile(db, input);
}
