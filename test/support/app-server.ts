// The dashboard's request handler (server/http/app.ts: the gate, the API, the downloads) in the
// test's own process on a free port, with the test's database: what a request meets in the
// real server, without Next's pages. The full server (pages too) is started by ./server.ts.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Db } from "@/server/db/client";
import { requestHandler } from "@/server/http/app";
import { TokenKeeper } from "@/server/http/auth-token";
import { Api } from "./api";

export interface AppServer {
  url: string;
  port: number;
  tokens: TokenKeeper;
  /** A client holding the token. */
  api: Api;
  close: () => Promise<void>;
}

export async function serveApp(db: Db, dataDir: string, opts: { allowedHosts?: string[] } = {}): Promise<AppServer> {
  const tokens = await TokenKeeper.open(dataDir, {});
  let port = 0;
  let handler: ReturnType<typeof requestHandler> | undefined;
  const server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  handler = requestHandler({
    gate: { port, boundHost: "127.0.0.1", allowedHosts: opts.allowedHosts ?? [], machineAddresses: [], tls: false },
    tokens,
    db,
    dataDir,
    dev: false,
    pages: async (_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" }).end("no pages in this test server");
    },
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    tokens,
    api: new Api(url, tokens.current),
    close: () =>
      new Promise<void>((r) => {
        tokens.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
