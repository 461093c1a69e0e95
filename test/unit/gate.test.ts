// The request gate's decisions (server/http/gate.ts): which Host names pass, which cross-site
// requests are refused, how the token is found, and the headers every answer carries.
import { describe, expect, it } from "vitest";
import {
  allowedNames,
  cookieName,
  crossSiteRefusal,
  hostAllowed,
  parseHostHeader,
  presentedToken,
  readCookie,
  securityHeaders,
  sessionCookie,
  type GateConfig,
} from "@/server/http/gate";

const config = (over: Partial<GateConfig> = {}): GateConfig => ({
  port: 3000,
  boundHost: "127.0.0.1",
  allowedHosts: [],
  machineAddresses: ["127.0.0.1", "10.1.2.3", "fe80::1"],
  tls: false,
  ...over,
});

describe("Host", () => {
  it.each(["127.0.0.1:3000", "localhost:3000", "LOCALHOST:3000", "localhost.:3000", "[::1]:3000"])("lets %s in", (h) => {
    expect(hostAllowed(h, config())).toBe(true);
  });

  it.each([
    ["a rebinding name", "evil.example:3000"],
    ["a name ending in localhost", "localhost.evil.example:3000"],
    ["the right name on another port", "127.0.0.1:3001"],
    ["no port (port 80)", "127.0.0.1"],
    ["an address of the machine the server is not bound to", "10.1.2.3:3000"],
    ["userinfo", "user@127.0.0.1:3000"],
    ["a path", "127.0.0.1:3000/x"],
    ["an empty header", ""],
    ["brackets around a name", "[localhost]:3000"],
  ])("refuses %s", (_why, h) => {
    expect(hostAllowed(h, config())).toBe(false);
  });

  it("refuses a request without Host", () => {
    expect(hostAllowed(undefined, config())).toBe(false);
  });

  it("takes the bound address, and every address of the machine when bound to all", () => {
    expect(hostAllowed("10.1.2.3:3000", config({ boundHost: "10.1.2.3" }))).toBe(true);
    expect(hostAllowed("10.1.2.3:3000", config({ boundHost: "0.0.0.0" }))).toBe(true);
    expect(hostAllowed("[fe80::1]:3000", config({ boundHost: "::" }))).toBe(true);
    expect(hostAllowed("evil.example:3000", config({ boundHost: "0.0.0.0" }))).toBe(false);
  });

  it("takes the names of IMAGE_STUDIO_ALLOWED_HOSTS, case-insensitively", () => {
    const c = config({ allowedHosts: ["Studio.Lan"] });
    expect(allowedNames(c).has("studio.lan")).toBe(true);
    expect(hostAllowed("studio.lan:3000", c)).toBe(true);
    expect(hostAllowed("other.lan:3000", c)).toBe(false);
  });

  it("needs no port for the scheme's own", () => {
    expect(hostAllowed("localhost", config({ port: 80 }))).toBe(true);
    expect(hostAllowed("localhost", config({ port: 443, tls: true }))).toBe(true);
    expect(hostAllowed("localhost", config({ port: 443, tls: false }))).toBe(false);
  });

  it("parses host[:port]", () => {
    expect(parseHostHeader("[::1]:8080")).toEqual({ name: "::1", port: 8080 });
    expect(parseHostHeader("Example.ORG")).toEqual({ name: "example.org", port: undefined });
    expect(parseHostHeader("[nope]:1")).toBeUndefined();
  });
});

describe("cross-site requests", () => {
  const own = "http://127.0.0.1:3000";
  const refused = (method: string, headers: Record<string, string>) => crossSiteRefusal(method, headers, own) !== null;

  it("lets the dashboard's own pages and curl change things", () => {
    expect(refused("POST", { origin: own, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" })).toBe(false);
    expect(refused("POST", { origin: own })).toBe(false);
    expect(refused("POST", {})).toBe(false);
    // A form post under Referrer-Policy: no-referrer says "null"; Sec-Fetch-Site tells.
    expect(refused("POST", { origin: "null", "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate" })).toBe(false);
  });

  it("refuses a state change from another origin, same site or not", () => {
    expect(refused("POST", { origin: "http://127.0.0.1:4000", "sec-fetch-site": "same-site" })).toBe(true);
    expect(refused("POST", { origin: "http://evil.example" })).toBe(true);
    expect(refused("POST", { origin: "null" })).toBe(true);
    expect(refused("POST", { origin: "null", "sec-fetch-site": "same-site" })).toBe(true);
    expect(refused("POST", { origin: "http://evil.example", "sec-fetch-site": "same-origin" })).toBe(true);
    expect(refused("POST", { "sec-fetch-site": "none" })).toBe(true);
    expect(refused("DELETE", { "sec-fetch-site": "cross-site" })).toBe(true);
    expect(refused("PUT", { "sec-fetch-site": "same-site" })).toBe(true);
  });

  it("refuses reads another page makes in the background (fetch, EventSource, img, frames)", () => {
    expect(refused("GET", { "sec-fetch-site": "same-site", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty" })).toBe(true);
    expect(refused("GET", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" })).toBe(true);
    expect(refused("GET", { "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe" })).toBe(true);
  });

  it("lets a person follow a link to the dashboard, and open its address", () => {
    expect(refused("GET", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" })).toBe(false);
    expect(refused("GET", { "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" })).toBe(false);
    expect(refused("GET", { "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" })).toBe(false);
  });
});

describe("the token in a request", () => {
  it("takes a Bearer header before the cookie", () => {
    expect(presentedToken({ authorization: "Bearer abc", cookie: `${cookieName(3000)}=def` }, 3000)).toBe("abc");
    expect(presentedToken({ authorization: "bearer  abc " }, 3000)).toBe("abc");
    expect(presentedToken({ cookie: `x=1; ${cookieName(3000)}=def; y=2` }, 3000)).toBe("def");
  });

  it("reads only this port's cookie", () => {
    expect(presentedToken({ cookie: `${cookieName(4000)}=def` }, 3000)).toBeUndefined();
    expect(readCookie("a=1;b=2", "b")).toBe("2");
    expect(readCookie(undefined, "b")).toBeUndefined();
  });

  it("ignores other authorization schemes", () => {
    expect(presentedToken({ authorization: "Basic YTpi" }, 3000)).toBeUndefined();
  });

  it("sets an HttpOnly, SameSite=Strict cookie, Secure over TLS", () => {
    expect(sessionCookie(3000, "t", false)).toBe(`${cookieName(3000)}=t; Path=/; HttpOnly; SameSite=Strict`);
    expect(sessionCookie(443, "t", true)).toMatch(/; Secure$/);
  });
});

describe("security headers", () => {
  it("forbid framing and sniffing, send no referrer, and keep scripts to this origin", () => {
    const h = securityHeaders(false);
    expect(h["Content-Security-Policy"]).toContain("frame-ancestors 'none'");
    expect(h["Content-Security-Policy"]).toContain("connect-src 'self'");
    expect(h["Content-Security-Policy"]).not.toContain("unsafe-eval");
    expect(h["X-Frame-Options"]).toBe("DENY");
    expect(h["X-Content-Type-Options"]).toBe("nosniff");
    expect(h["Referrer-Policy"]).toBe("no-referrer");
    expect(securityHeaders(true)["Content-Security-Policy"]).toContain("unsafe-eval");
  });
});
