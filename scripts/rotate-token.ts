// Writes a new access token to <data>/auth-token (run by scripts/rotate-token.sh). A running
// server watches the file and takes the new token at once: every cookie and script holding
// the old one must sign in again.
import { dataDir } from "@/server/config";
import { newToken, TOKEN_ENV, writeTokenFile } from "@/server/http/auth-token";

if (process.env[TOKEN_ENV]) {
  console.error(`rotate-token: the server takes its token from ${TOKEN_ENV}; change it there and restart the server`);
  process.exit(1);
}
const token = newToken();
await writeTokenFile(dataDir(), token);
const host = process.env.HOST && !["0.0.0.0", "::"].includes(process.env.HOST) ? process.env.HOST : "127.0.0.1";
console.log(`New token written to ${dataDir()}/auth-token. Open http://${host}:${process.env.PORT || 3000}/?token=${token}`);
