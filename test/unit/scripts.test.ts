// What mkosi runs of a project: the files a build runs as root (rootScripts), and how a check
// writes the project so mkosi runs none of it (checkPlan).
import { describe, expect, it } from "vitest";
import { PRESETS } from "@/server/mkosi/presets";
import { emptyDocument, type ProfileDocument, type RawFile } from "@/server/mkosi/profile";
import { render } from "@/server/mkosi/render";
import { checkPlan, rootScripts, type RootScript } from "@/server/mkosi/scripts";

const HOST = { osId: "debian", aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] };

const raw = (path: string, mode = 0o755, content = "#!/bin/sh\necho hi\n"): RawFile => ({ path, encoding: "utf8", content, mode, reason: "test" });

function doc(files: RawFile[] = [], settings: ProfileDocument["rawSettings"] = []): ProfileDocument {
  return { ...emptyDocument(), rawFiles: files, rawSettings: settings };
}

const paths = (list: RootScript[]) => list.map((s) => s.setting ? `${s.path}: ${s.setting}` : s.path);
const kinds = (list: RootScript[]) => Object.fromEntries(list.map((s) => [s.setting ?? s.path, s.kind]));

describe("rootScripts", () => {
  it("finds nothing in a profile made from a preset or in the form", () => {
    for (const p of PRESETS) expect(rootScripts(p.build(HOST))).toEqual([]);
    const formDoc = emptyDocument();
    formDoc.extraFiles.push({ path: "usr/local/bin/hello", content: "#!/bin/sh\necho hello\n", mode: "0755" });
    expect(rootScripts(formDoc)).toEqual([]);
  });

  it("finds each script by its name, with its .chroot form where mkosi has one, whatever its mode", () => {
    const names = ["mkosi.configure", "mkosi.sync", "mkosi.prepare", "mkosi.build", "mkosi.postinst", "mkosi.finalize", "mkosi.postoutput", "mkosi.clean"];
    const chroot = ["mkosi.prepare.chroot", "mkosi.build.chroot", "mkosi.postinst.chroot", "mkosi.finalize.chroot"];
    const found = rootScripts(doc([...names.map((n) => raw(n)), ...chroot.map((n) => raw(n, 0o644))]));
    expect(paths(found)).toEqual([...names, ...chroot].sort());
    expect(new Set(found.map((s) => s.kind))).toEqual(new Set(["script"]));
    // mkosi has no mkosi.sync.chroot: a plain file of that name runs nothing.
    expect(rootScripts(doc([raw("mkosi.sync.chroot", 0o644)]))).toEqual([]);
  });

  it("finds the .d/ forms (mkosi 25 and later), but only for stages that have them", () => {
    const found = rootScripts(doc([raw("mkosi.build.d/10-compile", 0o644), raw("mkosi.postinst.d/20-setup.chroot"), raw("mkosi.clean.d/x", 0o644), raw("mkosi.configure.d/x", 0o644)]));
    expect(paths(found)).toEqual(["mkosi.build.d/10-compile", "mkosi.clean.d/x", "mkosi.postinst.d/20-setup.chroot"]);
  });

  it("finds scripts of sub-images and folder drop-ins, but not image content", () => {
    const found = rootScripts(
      doc([raw("mkosi.images/base/mkosi.build"), raw("mkosi.conf.d/10-x/mkosi.postinst"), raw("mkosi.extra/mkosi.build"), raw("mkosi.extra/usr/bin/tool"), raw("mkosi.skeleton/etc/rc.local")]),
    );
    expect(paths(found)).toEqual(["mkosi.conf.d/10-x/mkosi.postinst", "mkosi.images/base/mkosi.build"]);
  });

  it("finds executable credentials only", () => {
    const found = rootScripts(doc([raw("mkosi.credentials/run-me"), raw("mkosi.credentials/just-data", 0o600, "secret\n"), raw("mkosi.images/a/mkosi.credentials/b", 0o700)]));
    expect(kinds(found)).toEqual({ "mkosi.credentials/run-me": "credential", "mkosi.images/a/mkosi.credentials/b": "credential" });
  });

  it("finds what mkosi 25 and later run while parsing, when executable", () => {
    expect(kinds(rootScripts(doc([raw("mkosi.version"), raw("mkosi.rootpw", 0o600, "hunter2\n")])))).toEqual({ "mkosi.version": "parse-time" });
  });

  it("finds the scripts *Scripts= settings name, in mkosi.conf and in kept configuration files", () => {
    const found = rootScripts(
      doc(
        [
          raw("tools/build.sh", 0o644),
          raw("tools/fin.sh", 0o644),
          raw("tools/old.sh", 0o644),
          raw("mkosi.conf.d/20-more.conf", 0o644, "[Content]\nFinalizeScripts=tools/fin.sh\n# BuildScripts=tools/commented.sh\n"),
          raw("tools/commented.sh", 0o644),
        ],
        [
          { section: "Content", key: "BuildScripts", value: "tools/build.sh" },
          { section: "Content", key: "BuildScript", value: "tools/old.sh" },
          { section: "Content", key: "PostInstallationScripts", value: "/usr/local/bin/setup" },
        ],
      ),
    );
    expect(paths(found)).toEqual(["mkosi.conf: PostInstallationScripts=/usr/local/bin/setup", "tools/build.sh", "tools/fin.sh", "tools/old.sh"]);
    expect(found[0]).toMatchObject({ kind: "setting", content: "PostInstallationScripts=/usr/local/bin/setup" });
  });

  it("finds executables in a folder Credentials= names, and a Credentials= path outside the project", () => {
    const found = rootScripts(
      doc(
        [raw("creds/run"), raw("creds/data", 0o644)],
        [
          { section: "Host", key: "Credentials", value: "creds" },
          { section: "Host", key: "Credentials", value: "/usr/sbin" },
          { section: "Host", key: "Credentials", value: "name=value" },
        ],
      ),
    );
    expect(kinds(found)).toEqual({ "creds/run": "credential", "Credentials=/usr/sbin": "setting" });
  });

  it("finds apt and dpkg hooks of the package manager trees, and other executables outside the image", () => {
    const found = rootScripts(
      doc([
        raw("mkosi.pkgmngr/etc/apt/apt.conf.d/99hook", 0o644, 'DPkg::Pre-Invoke { "touch /tmp/x"; };\n'),
        raw("mkosi.sandbox/etc/dpkg/dpkg.cfg.d/hook", 0o644, "pre-invoke=touch /tmp/x\n"),
        raw("mkosi.sandbox/etc/apt/preferences.d/pin", 0o644, "Package: *\n"),
        raw("bin/helper"),
      ]),
    );
    expect(kinds(found)).toEqual({ "bin/helper": "executable", "mkosi.pkgmngr/etc/apt/apt.conf.d/99hook": "hook", "mkosi.sandbox/etc/dpkg/dpkg.cfg.d/hook": "hook" });
  });

  it("follows Include= into a folder of the project, image trees included", () => {
    const found = rootScripts(doc([raw("mkosi.extra/shared/mkosi.conf", 0o644, "[Content]\n"), raw("mkosi.extra/shared/mkosi.build")], [{ section: "Config", key: "Include", value: "mkosi.extra/shared" }]));
    expect(paths(found)).toEqual(["mkosi.extra/shared/mkosi.build"]);
    expect(rootScripts(doc([], [{ section: "Config", key: "Include", value: "mkosi-initrd" }]))).toEqual([]);
  });

  it("carries each script's exact content, mode and size", () => {
    const [s] = rootScripts(doc([raw("mkosi.postinst", 0o750, "#!/bin/sh\necho é\n")]));
    expect(s).toMatchObject({ path: "mkosi.postinst", mode: 0o750, encoding: "utf8", content: "#!/bin/sh\necho é\n", size: 18 });
    const [b] = rootScripts(doc([{ path: "mkosi.build", encoding: "base64", content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]).toString("base64"), mode: 0o755, reason: "x" }]));
    expect(b).toMatchObject({ encoding: "base64", size: 5 });
  });
});

describe("checkPlan", () => {
  const plan = (d: ProfileDocument, major: number) => checkPlan(render(d, { mkosiMajor: major }), major);

  it("writes every file without its run bit", () => {
    const p = plan(doc([raw("mkosi.build"), raw("mkosi.credentials/x"), raw("bin/tool", 0o4755)]), 24);
    for (const f of p.files) expect(f.mode & 0o111, f.path).toBe(0);
    expect(p.files.find((f) => f.path === "bin/tool")?.mode).toBe(0o4644);
  });

  it("names executable credentials as not run where mkosi runs them while parsing (24 and 25)", () => {
    const d = doc([raw("mkosi.credentials/x"), raw("mkosi.credentials/data", 0o644), raw("mkosi.conf.d/10-sub/mkosi.credentials/y")]);
    expect(plan(d, 24).notRun).toEqual(["mkosi.conf.d/10-sub/mkosi.credentials/y", "mkosi.credentials/x"]);
    expect(plan(d, 25).notRun).toEqual(["mkosi.conf.d/10-sub/mkosi.credentials/y", "mkosi.credentials/x"]);
    expect(plan(d, 26).notRun).toEqual([]);
  });

  it("leaves out an executable mkosi.version where mkosi would run it (25 and later), and keeps it to be read by 24", () => {
    const d = doc([raw("mkosi.version"), raw("mkosi.snapshot")]);
    expect(plan(d, 24)).toMatchObject({ notRun: [] });
    expect(plan(d, 24).files.map((f) => f.path)).toContain("mkosi.version");
    expect(plan(d, 25).notRun).toEqual(["mkosi.version"]);
    expect(plan(d, 25).files.map((f) => f.path)).not.toContain("mkosi.version");
    expect(plan(d, 26).notRun).toEqual(["mkosi.snapshot", "mkosi.version"]);
  });

  it("names configure scripts, which run right after parsing in a build", () => {
    expect(plan(doc([raw("mkosi.configure"), raw("conf/tweak.sh")], [{ section: "Config", key: "ConfigureScripts", value: "conf/tweak.sh" }]), 24).notRun).toEqual([
      "conf/tweak.sh",
      "mkosi.configure",
    ]);
  });

  it("names a credential in a project folder that Credentials= names", () => {
    expect(plan(doc([raw("creds/x")], [{ section: "Host", key: "Credentials", value: "./creds" }]), 24)).toMatchObject({ notRun: ["creds/x"], outside: [] });
  });

  it.each([
    ["Credentials", "/usr/sbin"],
    ["Credentials", "../../etc"],
    ["Credentials", "%D/creds"],
    ["Credentials", "mkosi.extra/link"],
    ["Include", "/etc/mkosi"],
    ["Include", "~/project"],
    ["Include", "mkosi.extra/shared"],
    ["EnvironmentFiles", "/etc/shadow"],
  ])("will not run mkosi where %s=%s may lead outside the project", (key, value) => {
    const d = doc(
      [
        { path: "mkosi.extra/link", encoding: "symlink", content: "/etc", mode: 0o777, reason: "x" },
        { path: "mkosi.extra/shared/creds", encoding: "symlink", content: "/etc", mode: 0o777, reason: "x" },
      ],
      [{ section: key === "Include" ? "Config" : "Host", key, value }],
    );
    expect(plan(d, 24).outside).toEqual([expect.objectContaining({ file: "mkosi.conf", key, value, message: expect.stringContaining("outside the project") })]);
  });

  it("finds settings in kept configuration files too, and lets mkosi's own configurations be included", () => {
    const d = doc([raw("mkosi.conf.d/10-host.conf", 0o644, "[Match]\nDistribution=debian\n[Host]\nCredentials=/root\n")], [{ section: "Config", key: "Include", value: "mkosi-initrd" }]);
    expect(plan(d, 24).outside).toEqual([expect.objectContaining({ file: "mkosi.conf.d/10-host.conf", key: "Credentials", value: "/root" })]);
  });
});
