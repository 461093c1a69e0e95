// The key store on a real SQLite file and a temporary data folder, with the real openssl:
// what it makes (modes, facts), and what it refuses, each at its field: a key or certificate
// that is not PEM, an encrypted key, a key of another certificate, an expired certificate,
// a taken id, and deleting a key that a profile signs with (named in the refusal).
import { execa } from "execa";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "@/server/db/client";
import { keyPaths, deleteKey, generateKey, getKey, importKey, keysRoot, listKeys, PEM_PRIVATE_KEY, signingKeyProblem } from "@/server/keys/store";
import { createProfile, saveProfile } from "@/server/profiles/service";
import { writeExpiredCertificate } from "@/test/support/certificates";
import { appError } from "@/test/support/errors";

let dir: string;
let db: Db;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keys-"));
  db = openDatabase(join(dir, "image-studio.sqlite"));
});
afterAll(async () => {
  db.$client.close();
  await rm(dir, { recursive: true, force: true });
});

/** A key and a certificate made by openssl in `sub` (the certificate's validity from Python when dates are given). */
async function pair(sub: string, opts: { expired?: boolean } = {}): Promise<{ key: string; certificate: string }> {
  const d = join(dir, sub);
  await execa("mkdir", ["-p", d]);
  if (opts.expired) {
    await writeExpiredCertificate(join(d, "key.pem"), join(d, "cert.pem"), "expired", 30);
  } else {
    await execa("openssl", ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", `/CN=${sub}`, "-keyout", join(d, "key.pem"), "-out", join(d, "cert.pem")]);
  }
  return { key: await readFile(join(d, "key.pem"), "utf8"), certificate: await readFile(join(d, "cert.pem"), "utf8") };
}

describe("generating a key pair", () => {
  it("makes an RSA 2048 key (0600) and a self-signed certificate, listed by subject, fingerprint and expiry", async () => {
    const k = await generateKey(db, dir, { id: "first", commonName: "Edge devices" });
    expect(k).toMatchObject({ id: "first", subject: "CN=Edge devices", issuer: "CN=Edge devices", expired: false, algorithm: "RSA 2048", usedBy: [] });
    expect(k.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const years = (new Date(k.notAfter).getTime() - Date.now()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(9.9);
    expect((await stat(keyPaths(dir, "first").key)).mode & 0o777).toBe(0o600);
    expect((await stat(keyPaths(dir, "first").certificate)).mode & 0o777).toBe(0o644);
    expect((await stat(keysRoot(dir))).mode & 0o777).toBe(0o700);
    // What the store answers with never holds the key.
    expect(JSON.stringify(await listKeys(db, dir))).not.toMatch(PEM_PRIVATE_KEY);
    expect(await signingKeyProblem(dir, "first")).toBeUndefined();
  });

  it("refuses a taken id, a bad id, a bad common name and a bad validity, at their fields", async () => {
    expect((await appError(generateKey(db, dir, { id: "first" }))).problems).toEqual([{ path: ["id"], message: "a key named 'first' already exists" }]);
    expect((await appError(generateKey(db, dir, { id: "Bad/Id" }))).problems[0]!.path).toEqual(["id"]);
    expect((await appError(generateKey(db, dir, { id: "cn", commonName: "a/CN=b" }))).problems[0]!.path).toEqual(["commonName"]);
    expect((await appError(generateKey(db, dir, { id: "days", days: 0 }))).problems[0]!.path).toEqual(["days"]);
    expect((await listKeys(db, dir)).map((k) => k.id)).toEqual(["first"]);
  });
});

describe("importing a key pair", () => {
  it("takes a PEM key and its certificate; the key is written 0600", async () => {
    const p = await pair("imported");
    const k = await importKey(db, dir, { id: "imported", ...p });
    expect(k.subject).toBe("CN=imported");
    expect((await stat(k.files.key)).mode & 0o777).toBe(0o600);
    expect(await readFile(k.files.key, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it("refuses a key that is not PEM, at the key field", async () => {
    const p = await pair("notpem");
    const der = Buffer.from(p.key.replace(/-----[^-]+-----/g, "").replace(/\s/g, ""), "base64").toString("latin1");
    const e = await appError(importKey(db, dir, { id: "notpem", key: der, certificate: p.certificate }));
    expect(e.problems).toEqual([{ path: ["key"], message: expect.stringMatching(/^is not a PEM private key/) }]);
    const garbled = await appError(importKey(db, dir, { id: "notpem", key: "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", certificate: p.certificate }));
    expect(garbled.problems[0]).toEqual({ path: ["key"], message: "is not a readable PEM private key" });
  });

  it("refuses a certificate that is not PEM, at the certificate field", async () => {
    const p = await pair("notpemcert");
    const e = await appError(importKey(db, dir, { id: "notpemcert", key: p.key, certificate: "just text" }));
    expect(e.problems[0]!.path).toEqual(["certificate"]);
    expect(e.problems[0]!.message).toMatch(/^is not a PEM certificate/);
  });

  it("refuses a key that does not match its certificate, at the key field", async () => {
    const a = await pair("a");
    const b = await pair("b");
    const e = await appError(importKey(db, dir, { id: "mismatch", key: a.key, certificate: b.certificate }));
    expect(e.problems).toEqual([{ path: ["key"], message: "does not match the certificate (its public key is another one)" }]);
  });

  it("refuses an expired certificate, at the certificate field", async () => {
    const p = await pair("old", { expired: true });
    const e = await appError(importKey(db, dir, { id: "old", ...p }));
    expect(e.problems).toEqual([{ path: ["certificate"], message: expect.stringMatching(/^expired on 2020-01-31/) }]);
  });

  it("refuses a key encrypted with a passphrase, saying how to import it", async () => {
    const p = await pair("enc");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const e = await appError(importKey(db, dir, { id: "enc", key: privateKey, certificate: p.certificate }));
    expect(e.problems[0]!.path).toEqual(["key"]);
    expect(e.problems[0]!.message).toMatch(/encrypted with a passphrase/);
  });

  it("wrote nothing for any refusal", async () => {
    expect((await listKeys(db, dir)).map((k) => k.id)).toEqual(["first", "imported"]);
  });
});

describe("a key a profile signs with", () => {
  it("cannot be deleted: the refusal names the profile; once it is not used, it goes", async () => {
    const profile = createProfile(db, { name: "edge device", document: { settings: { SecureBoot: true }, signingKey: "first" } }, { aptRepositories: [] });
    expect((await getKey(db, dir, "first")).usedBy).toEqual([{ id: profile.id, name: "edge device" }]);
    const e = await appError(deleteKey(db, dir, "first"));
    expect(e.code).toBe("CONFLICT");
    expect(e.problems).toEqual([{ path: ["id"], message: "key 'first' is the signing key of profile 'edge device': choose another key there first" }]);
    expect(await signingKeyProblem(dir, "first")).toBeUndefined();

    saveProfile(db, { id: profile.id, revision: profile.revision, document: { settings: { SecureBoot: true }, signingKey: "imported" } });
    await deleteKey(db, dir, "first");
    expect((await listKeys(db, dir)).map((k) => k.id)).toEqual(["imported"]);
    // A build of a profile naming a key that is gone is refused before it starts, at the field.
    expect(await signingKeyProblem(dir, "first")).toMatch(/there is no key 'first' in the key store/);
  });

  it("a certificate past its end is a problem for a build", async () => {
    expect(await signingKeyProblem(dir, "imported", new Date(Date.now() + 60 * 86_400_000))).toMatch(/^key 'imported': its certificate expired on /);
  });
});
