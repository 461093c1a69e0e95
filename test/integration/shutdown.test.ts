// The server stopped with SIGTERM or SIGINT gives its children their cleanup time before it
// exits (execa's exit handler used to re-raise the signal and end the process at once), and a
// second signal ends it without waiting.
import { execa } from "execa";
import { describe, expect, it } from "vitest";

function start(cleanupS: number) {
  const p = execa("node", ["--import", "tsx", "test/integration/shutdown.child.ts", String(cleanupS)], { reject: false, buffer: true, lines: false });
  const ready = new Promise<void>((resolve, reject) => {
    let seen = "";
    p.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      if (seen.includes("ready")) resolve();
    });
    void p.then((r) => reject(new Error(`the child ended before it was ready: ${r.exitCode} ${r.stderr}`)));
  });
  return { p, ready };
}

describe("shutdown", () => {
  for (const sig of ["SIGTERM", "SIGINT"] as const)
    it(`on ${sig}, waits for the children's cleanup, then exits with 128+signal`, async () => {
      const { p, ready } = start(1.5);
      await ready;
      const t0 = Date.now();
      p.kill(sig);
      const r = await p;
      expect(r.stdout).toContain("cleaned up");
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
      expect(r.exitCode ?? r.signal).toBe(sig === "SIGTERM" ? 143 : 130);
    });

  it("a second signal ends it at once", async () => {
    const { p, ready } = start(20);
    await ready;
    const t0 = Date.now();
    p.kill("SIGTERM");
    // The first signal has reached the child (it says so) before the second is sent.
    await new Promise<void>((resolve) => {
      const seen = (d: Buffer) => {
        if (!String(d).includes("stopping")) return;
        p.stdout!.off("data", seen);
        resolve();
      };
      p.stdout!.on("data", seen);
    });
    p.kill("SIGTERM");
    const r = await p;
    expect(r.stdout).not.toContain("cleaned up");
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.exitCode).toBe(143);
  });
});
