// The checks every request passes before anything of the dashboard sees it, as pure functions
// of its method, address and headers (server/http/app.ts applies them):
//  - Host: only names this server is meant to be reached by. A web page that rebinds its own
//    DNS name to 127.0.0.1 sends its own name here, so it is refused (421).
//  - Cross-site: a state change (anything but GET and HEAD) must come from the dashboard's own
//    origin, and no request another site's page makes in the background is served (403). A
//    page on another port of 127.0.0.1 is "same-site" to the browser and gets SameSite=Strict
//    cookies, so SameSite alone is not enough.
//  - The token: from `Authorization: Bearer`, or the cookie a browser traded it for.
import { isIP } from "node:net";

export interface GateConfig {
  /** The port the server listens on. */
  port: number;
  /** The address it is bound to (HOST). */
  boundHost: string;
  /** Names allowed besides the loopback ones and the bound address (IMAGE_STUDIO_ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
  /** Addresses of this machine, allowed when bound to every address (0.0.0.0 or ::). */
  machineAddresses: readonly string[];
  tls: boolean;
}

const LOOPBACK = ["localhost", "127.0.0.1", "::1"];
export const WILDCARD_HOSTS = ["0.0.0.0", "::", ""];

/** `[::1]:3000` -> { name: "::1", port: 3000 }; undefined when it is not a host[:port]. */
export function parseHostHeader(value: string): { name: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s@]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  const name = (m[1] ?? m[2] ?? "").toLowerCase().replace(/\.$/, "");
  if (m[1] !== undefined && isIP(name) !== 6) return undefined;
  return { name, port: m[3] === undefined ? undefined : Number(m[3]) };
}

/** The names this server answers to. */
export function allowedNames(config: GateConfig): Set<string> {
  const names = new Set([...LOOPBACK, ...config.allowedHosts.map((h) => h.toLowerCase())]);
  const bound = config.boundHost.toLowerCase().replace(/^\[|\]$/g, "");
  if (WILDCARD_HOSTS.includes(bound)) for (const a of config.machineAddresses) names.add(a.toLowerCase());
  else names.add(bound);
  return names;
}

/** Whether a Host header names this server (with its port, or none when it is the scheme's default). */
export function hostAllowed(host: string | undefined, config: GateConfig, names = allowedNames(config)): boolean {
  if (host === undefined) return false;
  const h = parseHostHeader(host);
  if (!h || !names.has(h.name)) return false;
  const defaultPort = config.tls ? 443 : 80;
  return h.port === undefined ? config.port === defaultPort : h.port === config.port;
}

/** The dashboard's own origin as the browser names it, from the (already allowed) Host. */
export function ownOrigin(host: string, tls: boolean): string {
  return `${tls ? "https" : "http"}://${host.toLowerCase()}`;
}

export type Headers = Record<string, string | string[] | undefined>;

function one(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const SAFE_METHODS = ["GET", "HEAD"];

/**
 * Why a request is refused as coming from another site, or null. Browsers send `Sec-Fetch-Site`
 * on every request (since 2020) and `Origin` on every cross-origin one but GETs of plain
 * resources; with `Referrer-Policy: no-referrer` a form post says `Origin: null`, so for a
 * state change `Sec-Fetch-Site` decides when a browser sent it. curl sends neither, and needs
 * the token anyway.
 */
export function crossSiteRefusal(method: string, headers: Headers, origin: string): string | null {
  const safe = SAFE_METHODS.includes(method);
  const from = one(headers, "origin");
  const site = one(headers, "sec-fetch-site");
  if (!safe) {
    const foreign = from !== undefined && from !== origin && (from !== "null" || site === undefined);
    if (foreign || (site !== undefined && site !== "same-origin"))
      return `a ${method} from ${from && from !== "null" ? from : (site ?? "an unknown origin")} is refused: only the dashboard's own pages may change things`;
    return null;
  }
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    // Following a link to the dashboard is fine (it gets the sign-in screen, or the page with
    // the cookie); a request another page makes in the background (fetch, EventSource, an
    // image, a frame) is not.
    const mode = one(headers, "sec-fetch-mode");
    const dest = one(headers, "sec-fetch-dest");
    if (mode !== "navigate" || (dest !== undefined && dest !== "document")) return `a request made by a page of another origin (${from ?? site}) is refused`;
  }
  return null;
}

/** The cookie's name: per port, so two dashboards on one machine do not log each other out. */
export const cookieName = (port: number) => `image_studio_${port}`;

/** A cookie header's value for `name`, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** What the request presents as its token: a Bearer header first, else the cookie. */
export function presentedToken(headers: Headers, port: number): string | undefined {
  const auth = one(headers, "authorization");
  const bearer = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  return bearer ?? readCookie(one(headers, "cookie"), cookieName(port));
}

export function sessionCookie(port: number, token: string, tls: boolean): string {
  return `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict${tls ? "; Secure" : ""}`;
}

export function clearedCookie(port: number, tls: boolean): string {
  return `${cookieName(port)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${tls ? "; Secure" : ""}`;
}

/**
 * Sent with every answer. Pages never render in a frame (no click can be borrowed), nothing
 * is read as another type than sent, the address (holding the token on the first visit) is
 * never passed on, and a page may talk to its own server only.
 */
export function securityHeaders(dev: boolean): Record<string, string> {
  // Next's pages carry inline bootstrap scripts; dev mode also evaluates code for fast refresh.
  const script = `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`;
  return {
    "Content-Security-Policy": [
      "default-src 'self'",
      script,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self' data:",
      `connect-src 'self'${dev ? " ws: wss:" : ""}`,
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join("; "),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
}
