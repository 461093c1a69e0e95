// The access token: whoever holds it can run code on this machine through the dashboard (mkosi
// runs project scripts), so every request must carry it, as a Bearer header (API clients) or
// the cookie a browser got for it. 32 random bytes, kept in <data>/auth-token (mode 0600) so
// it survives restarts; IMAGE_STUDIO_TOKEN overrides the file.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";

export const TOKEN_FILE = "auth-token";
export const TOKEN_ENV = "IMAGE_STUDIO_TOKEN";
/** Shorter than this, a token given in the environment is refused: it could be guessed. */
const MIN_ENV_TOKEN = 16;

export const tokenPath = (dataDir: string) => join(dataDir, TOKEN_FILE);

/** 32 random bytes, base64url (43 characters, safe in a URL, a header and a cookie). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Compares a presented token with the real one in constant time: both are hashed first, so
 * neither their contents nor their lengths show in the time taken.
 */
export function sameToken(presented: string | undefined, real: string): boolean {
  if (presented === undefined) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(real).digest();
  return timingSafeEqual(a, b);
}

/** Writes the token file whole (a temporary file renamed over it), readable by its owner only. */
export async function writeTokenFile(dataDir: string, token: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${tokenPath(dataDir)}.${process.pid}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(`${token}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, tokenPath(dataDir)).catch(async (e: unknown) => {
    await rm(tmp, { force: true });
    throw e;
  });
}

async function readTokenFile(dataDir: string): Promise<string | undefined> {
  const text = await readFile(tokenPath(dataDir), "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  const token = text?.trim();
  return token ? token : undefined;
}

export type TokenSource = "environment" | "file";

/**
 * The server's token, kept current: a rotation by the command line (which rewrites the file)
 * is picked up from a watch on the data folder, without a restart.
 */
export class TokenKeeper {
  private watcher: FSWatcher | undefined;

  private constructor(
    private readonly dataDir: string,
    private token: string,
    readonly source: TokenSource,
  ) {}

  /** The token from the environment, else from the file, else a new one written to the file. */
  static async open(dataDir: string, env: Record<string, string | undefined> = process.env): Promise<TokenKeeper> {
    const fromEnv = env[TOKEN_ENV]?.trim();
    if (fromEnv !== undefined && fromEnv !== "") {
      if (fromEnv.length < MIN_ENV_TOKEN || !/^[\x21-\x7e]+$/.test(fromEnv))
        throw new Error(`${TOKEN_ENV} must be at least ${MIN_ENV_TOKEN} printable characters without spaces`);
      return new TokenKeeper(dataDir, fromEnv, "environment");
    }
    let token = await readTokenFile(dataDir);
    if (token === undefined) {
      token = newToken();
      await writeTokenFile(dataDir, token);
    }
    // An older file may have been made with a looser mode.
    await chmod(tokenPath(dataDir), 0o600);
    const keeper = new TokenKeeper(dataDir, token, "file");
    keeper.follow();
    return keeper;
  }

  get current(): string {
    return this.token;
  }

  matches(presented: string | undefined): boolean {
    return sameToken(presented, this.token);
  }

  /** A new token, in force at once; every cookie and header holding the old one stops working. */
  async rotate(): Promise<string> {
    if (this.source === "environment") throw new Error(`the token comes from ${TOKEN_ENV}: change it there and restart`);
    const token = newToken();
    await writeTokenFile(this.dataDir, token);
    this.token = token;
    return token;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private follow(): void {
    try {
      this.watcher = watch(this.dataDir, { persistent: false }, (_event, name) => {
        if (name !== TOKEN_FILE) return;
        void readTokenFile(this.dataDir)
          .then((t) => {
            if (t !== undefined) this.token = t;
          })
          .catch(() => undefined);
      });
    } catch (e) {
      console.error(`cannot watch ${this.dataDir} for token changes (a rotation from the command line then needs a restart):`, e);
    }
  }
}
