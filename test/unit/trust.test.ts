// The digest a build's confirmation names, and when a build of scripts needs one.
import { describe, expect, it } from "vitest";
import { requireTrust, scriptsDigest, trustOf } from "@/server/builds/trust";
import { AppError } from "@/server/errors";
import type { RootScript } from "@/server/mkosi/scripts";

const script = (path: string, content = "#!/bin/sh\necho hi\n", mode = 0o755): RootScript => ({
  path, kind: "script", why: "test", mode, encoding: "utf8", content, size: content.length,
});

describe("scriptsDigest", () => {
  const base = [script("mkosi.build"), script("mkosi.postinst")];
  it("is a SHA-256 that does not depend on the order of the list", () => {
    expect(scriptsDigest(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(scriptsDigest([...base].reverse())).toBe(scriptsDigest(base));
  });
  it("changes when a byte, a mode, a path or the list changes", () => {
    const d = scriptsDigest(base);
    expect(scriptsDigest([script("mkosi.build", "#!/bin/sh\necho hI\n"), base[1]!])).not.toBe(d);
    expect(scriptsDigest([script("mkosi.build", undefined, 0o750), base[1]!])).not.toBe(d);
    expect(scriptsDigest([script("mkosi.build.chroot"), base[1]!])).not.toBe(d);
    expect(scriptsDigest([...base, script("mkosi.finalize")])).not.toBe(d);
    expect(scriptsDigest([{ ...base[0]!, setting: "BuildScripts=/x" }, base[1]!])).not.toBe(d);
  });
  it("does not change with what a script is called (kind, why)", () => {
    expect(scriptsDigest([{ ...base[0]!, kind: "executable", why: "other words" }, base[1]!])).toBe(scriptsDigest(base));
  });
});

describe("requireTrust", () => {
  const scripts = [script("mkosi.postinst")];
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (AppError.is(e)) return e;
      throw e;
    }
    throw new Error("expected a refusal");
  };

  it("lets a profile without scripts build with no confirmation", () => {
    expect(requireTrust({ name: "p", trustedScripts: null }, [], undefined)).toBeNull();
    expect(requireTrust({ name: "p", trustedScripts: null }, [], "0".repeat(64))).toBeNull();
  });
  it("refuses unconfirmed scripts, naming them and their digest, and takes that digest", () => {
    const e = refusal(() => requireTrust({ name: "p", trustedScripts: null }, scripts, undefined));
    expect(e.code).toBe("PRECONDITION_FAILED");
    expect(e.problems[0]!.path).toEqual(["trustScripts"]);
    expect(e.details).toEqual({ digest: scriptsDigest(scripts), scripts: [{ ...scripts[0], trusted: false }] });
    expect(requireTrust({ name: "p", trustedScripts: null }, scripts, scriptsDigest(scripts))).toEqual(trustOf(scripts));
    expect(refusal(() => requireTrust({ name: "p", trustedScripts: null }, scripts, "f".repeat(64))).message).toMatch(/names other scripts/);
  });
  it("needs nothing while every script is among those confirmed, and asks for a new or changed one", () => {
    const two = [script("mkosi.build"), script("mkosi.postinst")];
    const trusted = trustOf(two);
    expect(requireTrust({ name: "p", trustedScripts: trusted }, two, undefined)).toEqual(trusted);
    expect(requireTrust({ name: "p", trustedScripts: trusted }, scripts, undefined)).toEqual(trustOf(scripts));
    const e = refusal(() => requireTrust({ name: "p", trustedScripts: trusted }, [...two, script("mkosi.finalize")], undefined));
    expect((e.details!.scripts as { path: string; trusted: boolean }[]).map((s) => [s.path, s.trusted])).toEqual([["mkosi.build", true], ["mkosi.postinst", true], ["mkosi.finalize", false]]);
    expect(e.message).toMatch(/new or changed.*mkosi\.finalize/);
  });
});
