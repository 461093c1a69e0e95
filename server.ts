// The dashboard's HTTP server: Next.js for pages and the API, with artifact downloads answered
// by node:http directly (server/artifacts/download.ts says why). Bundled by
// scripts/install-deps.sh into .next/image-studio-server.mjs; `--dev` runs Next in dev mode.
//
//   HOST=127.0.0.1 PORT=3000 node .next/image-studio-server.mjs      (scripts/start.sh)
//   npx tsx server.ts --dev                                          (npm run dev)
import { createServer } from "node:http";
import next from "next";
import { matchArtifactUrl, sendArtifact } from "@/server/artifacts/download";
import { dataDir } from "@/server/config";
import { getDb } from "@/server/db/client";

const dev = process.argv.includes("--dev");
const hostname = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 3000);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a whole number from 1 to 65535, not ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

const app = next({ dev, hostname, port });
const handle = app.getRequestHandler();
await app.prepare();
// The same connection the app uses: getDb keeps it on globalThis, opening (and migrating) it
// on first use, whichever side comes first.
const ctx = { db: getDb(), dataDir: dataDir() };

const server = createServer((req, res) => {
  const route = matchArtifactUrl(req.url ?? "/");
  const done = route ? sendArtifact(req, res, ctx, route) : handle(req, res);
  done.catch((e: unknown) => {
    console.error(`${req.method} ${req.url}:`, e);
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" }).end("internal error");
    else res.destroy();
  });
});
server.listen(port, hostname, () => console.log(`Image Studio on http://${hostname}:${port}${dev ? " (dev)" : ""}`));
