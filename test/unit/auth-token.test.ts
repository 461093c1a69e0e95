// The access token's file, its comparison and its rotation (server/http/auth-token.ts).
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { newToken, sameToken, TokenKeeper, tokenPath, writeTokenFile } from "@/server/http/auth-token";

const dirs: string[] = [];
const dir = async () => {
  const d = await mkdtemp(join(tmpdir(), "auth-token-"));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe("the token", () => {
  it("is 32 random bytes in base64url", () => {
    const a = newToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, "base64url")).toHaveLength(32);
    expect(newToken()).not.toBe(a);
  });

  it("compares whole tokens only", () => {
    const t = newToken();
    expect(sameToken(t, t)).toBe(true);
    expect(sameToken(t.slice(0, -1), t)).toBe(false);
    expect(sameToken(`${t}x`, t)).toBe(false);
    expect(sameToken("", t)).toBe(false);
    expect(sameToken(undefined, t)).toBe(false);
  });
});

describe("TokenKeeper", () => {
  it("writes a new token at first start, mode 0600, and reads the same one at the next", async () => {
    const d = await dir();
    const first = await TokenKeeper.open(d, {});
    expect(first.source).toBe("file");
    expect((await stat(tokenPath(d))).mode & 0o777).toBe(0o600);
    expect((await readFile(tokenPath(d), "utf8")).trim()).toBe(first.current);
    first.close();
    const second = await TokenKeeper.open(d, {});
    expect(second.current).toBe(first.current);
    second.close();
  });

  it("tightens a token file that others could read", async () => {
    const d = await dir();
    await writeFile(tokenPath(d), "an-older-token-written-loosely\n", { mode: 0o644 });
    const k = await TokenKeeper.open(d, {});
    expect(k.current).toBe("an-older-token-written-loosely");
    expect((await stat(tokenPath(d))).mode & 0o777).toBe(0o600);
    k.close();
  });

  it("takes IMAGE_STUDIO_TOKEN over the file and writes nothing", async () => {
    const d = await dir();
    const k = await TokenKeeper.open(d, { IMAGE_STUDIO_TOKEN: "from-the-environment-123" });
    expect(k.source).toBe("environment");
    expect(k.matches("from-the-environment-123")).toBe(true);
    await expect(stat(tokenPath(d))).rejects.toThrow();
    await expect(k.rotate()).rejects.toThrow(/IMAGE_STUDIO_TOKEN/);
  });

  it("refuses a short token in the environment", async () => {
    await expect(TokenKeeper.open(await dir(), { IMAGE_STUDIO_TOKEN: "short" })).rejects.toThrow(/at least 16/);
  });

  it("rotates: the old token stops working at once", async () => {
    const d = await dir();
    const k = await TokenKeeper.open(d, {});
    const old = k.current;
    const fresh = await k.rotate();
    expect(k.matches(old)).toBe(false);
    expect(k.matches(fresh)).toBe(true);
    expect((await readFile(tokenPath(d), "utf8")).trim()).toBe(fresh);
    expect((await stat(tokenPath(d))).mode & 0o777).toBe(0o600);
    k.close();
  });

  it("takes a token the command line wrote into the file, without a restart", async () => {
    const d = await dir();
    const k = await TokenKeeper.open(d, {});
    const fresh = newToken();
    await writeTokenFile(d, fresh);
    await expect.poll(() => k.matches(fresh), { timeout: 5000 }).toBe(true);
    k.close();
  });
});
