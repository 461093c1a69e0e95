// The key store: key pairs that sign images (Secure Boot, the verity signature, the PCR
// policy), one folder each under data/keys/<id>/ with key.pem (mode 0600) and cert.pem. A
// private key is read by mkosi from here at build time; it never leaves this folder through
// the API, a build's snapshot, an export or a log. What the API shows is the certificate's
// subject, fingerprint and validity, and which profiles use the key.
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Db } from "@/server/db/client";
import { profiles } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { KEY_ID } from "@/server/mkosi/profile";
import { PEM_PRIVATE_KEY } from "@/server/mkosi/verity";
import { runOwned } from "@/server/processes/registry";

export const keysRoot = (dataDir: string) => join(dataDir, "keys");
export const KEY_FILE = "key.pem";
export const CERT_FILE = "cert.pem";

export { PEM_PRIVATE_KEY };

/** How long a generated certificate is valid, in days, and the most a user may ask for. */
export const KEY_VALID_DAYS = { default: 3650, max: 36500 } as const;
/** What a common name may hold: it goes into openssl's -subj, where '/' and '=' are syntax. */
export const COMMON_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}$/;

export interface KeyInfo {
  id: string;
  subject: string;
  issuer: string;
  /** SHA-256 of the certificate (DER), colon-separated hex as openssl prints it. */
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  expired: boolean;
  /** e.g. "RSA 2048". */
  algorithm: string;
  /** Profiles (by name) whose signingKey is this key. */
  usedBy: { id: number; name: string }[];
  /** The files mkosi reads (paths on this machine: the key's content is never shown). */
  files: { key: string; certificate: string };
}

export function keyPaths(dataDir: string, id: string): { dir: string; key: string; certificate: string } {
  const dir = join(keysRoot(dataDir), id);
  return { dir, key: join(dir, KEY_FILE), certificate: join(dir, CERT_FILE) };
}

function checkId(id: string, path: (string | number)[] = ["id"]): string {
  if (!KEY_ID.test(id)) throw AppError.field(path, "must be a key id: lowercase letters, digits and '-' (at most 63, starting with a letter or digit)");
  return id;
}

const dateOf = (text: string) => new Date(text);

/** "RSA 2048", "EC prime256v1": the key's type and size or curve. */
function describe(cert: X509Certificate): { algorithm: string } {
  const d = cert.publicKey.asymmetricKeyDetails;
  const type = (cert.publicKey.asymmetricKeyType ?? "unknown").toUpperCase();
  const size = d?.modulusLength ?? d?.namedCurve;
  return { algorithm: size ? `${type} ${size}` : type };
}

/** Profiles that name a key, by key id. */
function usersOf(db: Db): Map<string, { id: number; name: string }[]> {
  const users = new Map<string, { id: number; name: string }[]>();
  for (const r of db.select({ id: profiles.id, name: profiles.name, document: profiles.document }).from(profiles).all()) {
    const k = r.document.signingKey;
    if (k) users.set(k, [...(users.get(k) ?? []), { id: r.id, name: r.name }]);
  }
  return users;
}

async function info(dataDir: string, id: string, users: Map<string, { id: number; name: string }[]>, now = new Date()): Promise<KeyInfo | undefined> {
  const paths = keyPaths(dataDir, id);
  const pem = await readFile(paths.certificate, "utf8").catch(() => undefined);
  if (pem === undefined) return undefined;
  const cert = new X509Certificate(pem);
  return {
    id,
    subject: cert.subject.replaceAll("\n", ", "),
    issuer: cert.issuer.replaceAll("\n", ", "),
    fingerprint: cert.fingerprint256,
    notBefore: dateOf(cert.validFrom).toISOString(),
    notAfter: dateOf(cert.validTo).toISOString(),
    expired: dateOf(cert.validTo).getTime() < now.getTime(),
    ...describe(cert),
    usedBy: users.get(id) ?? [],
    files: { key: paths.key, certificate: paths.certificate },
  };
}

export async function listKeys(db: Db, dataDir: string): Promise<KeyInfo[]> {
  const ids = (await readdir(keysRoot(dataDir)).catch(() => [] as string[])).filter((n) => KEY_ID.test(n)).sort();
  const users = usersOf(db);
  const all = await Promise.all(ids.map((id) => info(dataDir, id, users).catch(() => undefined)));
  return all.filter((k): k is KeyInfo => k !== undefined);
}

export async function getKey(db: Db, dataDir: string, id: string): Promise<KeyInfo> {
  const k = await info(dataDir, checkId(id), usersOf(db));
  if (!k) throw AppError.field(["id"], `there is no key '${id}' in the key store`, "NOT_FOUND");
  return k;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes a key pair into a hidden folder first, so a half-written key is never listed. */
async function commit(dataDir: string, id: string, write: (dir: string) => Promise<void>): Promise<void> {
  const root = keysRoot(dataDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700);
  const final = keyPaths(dataDir, id).dir;
  if (await exists(final)) throw AppError.field(["id"], `a key named '${id}' already exists`, "CONFLICT");
  const tmp = join(root, `.new-${id}-${randomBytes(4).toString("hex")}`);
  await mkdir(tmp, { mode: 0o700 });
  try {
    await write(tmp);
    await chmod(join(tmp, KEY_FILE), 0o600);
    await chmod(join(tmp, CERT_FILE), 0o644);
    if (await exists(final)) throw AppError.field(["id"], `a key named '${id}' already exists`, "CONFLICT");
    await rename(tmp, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A new RSA 2048 key and a self-signed certificate, made by OpenSSL as mkosi genkey does. */
export async function generateKey(db: Db, dataDir: string, input: { id: string; commonName?: string; days?: number }, signal?: AbortSignal): Promise<KeyInfo> {
  const id = checkId(input.id);
  const cn = input.commonName ?? id;
  if (!COMMON_NAME.test(cn)) throw AppError.field(["commonName"], "must be 1 to 64 letters, digits, spaces and . _ ( ) + - (starting with a letter or digit)");
  const days = input.days ?? KEY_VALID_DAYS.default;
  if (!Number.isInteger(days) || days < 1 || days > KEY_VALID_DAYS.max) throw AppError.field(["days"], `must be a whole number of days from 1 to ${KEY_VALID_DAYS.max}`);
  await commit(dataDir, id, async (dir) => {
    const r = await runOwned(
      `generate key ${id}`,
      "openssl",
      ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", String(days), "-subj", `/CN=${cn}`, "-keyout", join(dir, KEY_FILE), "-out", join(dir, CERT_FILE)],
      { timeout: 60_000, signal },
    );
    // openssl prints progress dots and nothing secret; its last line says why it failed.
    if (r.exitCode !== 0) throw new AppError("PRECONDITION_FAILED", `openssl could not make the key: ${String(r.stderr ?? "").trim().split("\n").pop() ?? `exit status ${r.exitCode}`}`);
  });
  return getKey(db, dataDir, id);
}

/** The problem with a PEM text, at its field, or the parsed object. */
function parseKey(pem: string): KeyObject {
  if (!PEM_PRIVATE_KEY.test(pem)) throw AppError.field(["key"], "is not a PEM private key (a text starting with -----BEGIN PRIVATE KEY-----)");
  if (/ENCRYPTED/.test(pem)) throw AppError.field(["key"], "is encrypted with a passphrase: mkosi reads the key unattended, so import it without one (openssl pkey -in key.pem -out plain.pem)");
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw AppError.field(["key"], "is not a readable PEM private key");
  }
}

function parseCertificate(pem: string): X509Certificate {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw AppError.field(["certificate"], "is not a PEM certificate (a text starting with -----BEGIN CERTIFICATE-----)");
  try {
    return new X509Certificate(pem);
  } catch {
    throw AppError.field(["certificate"], "is not a readable PEM X.509 certificate");
  }
}

/** Checks an imported pair: PEM, not expired, the key belongs to the certificate. Throws at the field. */
export function checkPair(keyPem: string, certPem: string, now = new Date()): { key: KeyObject; cert: X509Certificate } {
  const key = parseKey(keyPem);
  const cert = parseCertificate(certPem);
  const until = dateOf(cert.validTo);
  if (until.getTime() < now.getTime()) throw AppError.field(["certificate"], `expired on ${until.toISOString().slice(0, 10)}: firmware and mkosi refuse it; make a new certificate for the key`);
  if (dateOf(cert.validFrom).getTime() > now.getTime()) throw AppError.field(["certificate"], `is not valid before ${dateOf(cert.validFrom).toISOString().slice(0, 10)}`);
  if (!cert.checkPrivateKey(key)) throw AppError.field(["key"], "does not match the certificate (its public key is another one)");
  return { key, cert };
}

/** Imports a PEM key and certificate. The key is written mode 0600 and never read back out. */
export async function importKey(db: Db, dataDir: string, input: { id: string; key: string; certificate: string }): Promise<KeyInfo> {
  const id = checkId(input.id);
  const { key, cert } = checkPair(input.key, input.certificate);
  // Written as parsed (PKCS#8, no passphrase), so what mkosi reads is what was checked.
  const keyPem = key.export({ type: "pkcs8", format: "pem" }).toString();
  await commit(dataDir, id, async (dir) => {
    await writeFile(join(dir, KEY_FILE), keyPem, { mode: 0o600 });
    await writeFile(join(dir, CERT_FILE), cert.toString(), { mode: 0o644 });
  });
  return getKey(db, dataDir, id);
}

/** Removes a key pair; refused while a profile names it. */
export async function deleteKey(db: Db, dataDir: string, id: string): Promise<{ id: string }> {
  const k = await getKey(db, dataDir, id);
  if (k.usedBy.length > 0)
    throw AppError.field(
      ["id"],
      `key '${id}' is the signing key of ${k.usedBy.map((p) => `profile '${p.name}'`).join(", ")}: choose another key there first`,
      "CONFLICT",
    );
  await rm(keyPaths(dataDir, id).dir, { recursive: true, force: true });
  return { id };
}

/**
 * What stops a build signed with this key, at the profile's signingKey field: a key that is
 * not in the store, a certificate that expired, a pair that does not match. Undefined when fine.
 */
export async function signingKeyProblem(dataDir: string, id: string, now = new Date()): Promise<string | undefined> {
  const paths = keyPaths(dataDir, id);
  const [keyPem, certPem] = await Promise.all([readFile(paths.key, "utf8").catch(() => undefined), readFile(paths.certificate, "utf8").catch(() => undefined)]);
  if (keyPem === undefined || certPem === undefined) return `there is no key '${id}' in the key store: choose or generate another`;
  try {
    checkPair(keyPem, certPem, now);
    return undefined;
  } catch (e) {
    if (AppError.is(e)) return `key '${id}': ${e.problems[0] ? `its ${e.problems[0].path.join(".")} ${e.problems[0].message}` : e.message}`;
    throw e;
  }
}

/** A free key id made from a profile's name. */
export async function freeKeyId(dataDir: string, name: string): Promise<string> {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) || "key";
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    if (!(await exists(keyPaths(dataDir, id).dir))) return id;
  }
}
