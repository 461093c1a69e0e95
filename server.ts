// The dashboard's HTTP server: every request passes the gate in server/http/app.ts (Host,
// cross-site and token checks), then goes to the API, a download, or Next.js for the pages.
// Bundled by scripts/install-deps.sh into .next/image-studio-server.mjs; `--dev` runs Next in
// dev mode.
//
//   HOST=127.0.0.1 PORT=3000 node .next/image-studio-server.mjs      (scripts/start.sh)
//   npx tsx server.ts --dev                                          (npm run dev)
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { networkInterfaces } from "node:os";
import next from "next";
import { conversions } from "@/server/artifacts/conversions";
import { buildQueue } from "@/server/builds/queue";
import { dataDir } from "@/server/config";
import { getDb } from "@/server/db/client";
import { requestHandler } from "@/server/http/app";
import { TOKEN_ENV, TokenKeeper } from "@/server/http/auth-token";
import { WILDCARD_HOSTS, type GateConfig } from "@/server/http/gate";
import { vms } from "@/server/vms/service";

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const dev = process.argv.includes("--dev");
const hostname = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 3000);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`PORT must be a whole number from 1 to 65535, not ${JSON.stringify(process.env.PORT)}`);
const certFile = process.env.IMAGE_STUDIO_TLS_CERT;
const keyFile = process.env.IMAGE_STUDIO_TLS_KEY;
if (Boolean(certFile) !== Boolean(keyFile)) fail("IMAGE_STUDIO_TLS_CERT and IMAGE_STUDIO_TLS_KEY go together: set both (PEM files) or neither");
const tls = certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;

const data = dataDir();
// Migrations are applied here, before the first request.
const db = getDb();
const tokens = await TokenKeeper.open(data).catch((e: unknown) => fail(`the access token: ${e instanceof Error ? e.message : String(e)}`));
// Read once; no child (mkosi, a project's scripts) inherits it.
delete process.env[TOKEN_ENV];

const machineAddresses = Object.values(networkInterfaces())
  .flat()
  .flatMap((a) => (a ? [a.address] : []));
const gate: GateConfig = {
  port,
  boundHost: hostname,
  allowedHosts: (process.env.IMAGE_STUDIO_ALLOWED_HOSTS ?? "").split(/[\s,]+/).filter(Boolean),
  machineAddresses,
  tls: tls !== undefined,
};

const app = next({ dev, hostname, port });
const pages = app.getRequestHandler();
await app.prepare();

// The build queue marks builds a previous server left running as interrupted and stops what is
// left of them; the VM manager does the same for VMs and boot-checks builds of profiles that
// ask for it; the conversions mark jobs left running as interrupted and remove their files.
const queue = buildQueue(db);
conversions(queue);
vms(db);

const handler = requestHandler({ gate, tokens, db, dataDir: data, dev, pages: (req, res) => pages(req, res) });
const server = tls ? createTlsServer(tls, handler) : createServer(handler);
server.listen(port, hostname, () => {
  const scheme = tls ? "https" : "http";
  const wildcard = WILDCARD_HOSTS.includes(hostname);
  const shown = wildcard ? "127.0.0.1" : hostname.includes(":") ? `[${hostname}]` : hostname;
  const base = `${scheme}://${shown}:${port}`;
  console.log(`Image Studio on ${base}${dev ? " (dev)" : ""}${wildcard ? ` and every address of this machine` : ""}`);
  console.log(`Open ${base}/?token=${tokens.current}`);
  if (tokens.source === "file") console.log(`(the token is in ${data}/auth-token; rotate it from the Host page or with scripts/rotate-token.sh)`);
  if (process.getuid?.() === 0)
    console.warn("WARNING: running as root, and so will every build, check and VM: start it with scripts/start.sh, which runs it as the image-studio user.");
  const loopback = ["127.0.0.1", "::1", "localhost"].includes(hostname);
  if (!loopback && !tls)
    console.warn(
      `WARNING: listening on ${hostname} without TLS: the token and everything else cross the network in clear text. ` +
        "Set IMAGE_STUDIO_TLS_CERT and IMAGE_STUDIO_TLS_KEY, or bind to 127.0.0.1 and reach it through an SSH tunnel.",
    );
});
