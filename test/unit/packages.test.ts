// The package index's pure parts: Packages stanzas, Release pins, Debian version order (against
// the real dpkg), "did you mean", prefix ranking, the index's sources from a profile, apt's list
// file names and the host's apt-cache policy output; the SBOM (against SPDX 2.3's schema) and the
// manifest diff.
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { uriToFileName } from "@/server/packages/apt";
import { closestNames, editDistance } from "@/server/packages/closest";
import { compareVersions, parsePackages, parseRelease, providedNames, releasePriority } from "@/server/packages/control";
import { parsePolicy } from "@/server/packages/host-apt";
import { indexSpec } from "@/server/packages/sources";
import { ftsQuery, shortestWithPrefix } from "@/server/packages/store";
import { emptyDocument, profileDocumentSchema } from "@/server/mkosi/profile";
import { PRESETS } from "@/server/mkosi/presets";
import { renderMkosiConf } from "@/server/mkosi/render";
import { diffManifests } from "@/server/packages/manifest";
import { debPurl, spdxDocument } from "@/server/packages/sbom";
import { spdxErrors } from "../spdx";

const STANZAS = `Package: openssh-server
Source: openssh (1:9.2p1-2)
Version: 1:9.2p1-2+deb12u3
Installed-Size: 1833
Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>
Architecture: amd64
Provides: ssh-server
Depends: libc6 (>= 2.36), openssh-client (= 1:9.2p1-2+deb12u3)
Pre-Depends: init-system-helpers (>= 1.54~)
Recommends: default-logind | logind | libpam-systemd, ncurses-term
Description: secure shell (SSH) server, for secure access from remote machines
 This is the portable version of OpenSSH.
 .
 It replaces rlogin and rsh.
Section: net
Priority: optional
Size: 475760

Package: postfix
Version: 3.7.11-0+deb12u1
Architecture: amd64
Provides: default-mta, mail-transport-agent
Description: High-performance mail transport agent
Essential: no

Package: base-files
Version: 12.4+deb12u5
Architecture: amd64
Essential: yes
Description: Debian base system miscellaneous files
`;

describe("parsePackages", () => {
  it("reads the fields the index keeps, with the description split into summary and body", () => {
    const [ssh, postfix, base] = [...parsePackages(STANZAS)];
    expect(ssh).toEqual({
      name: "openssh-server",
      version: "1:9.2p1-2+deb12u3",
      architecture: "amd64",
      section: "net",
      installedKib: 1833,
      downloadBytes: 475760,
      summary: "secure shell (SSH) server, for secure access from remote machines",
      description: "This is the portable version of OpenSSH.\n\nIt replaces rlogin and rsh.",
      provides: "ssh-server",
      depends: "libc6 (>= 2.36), openssh-client (= 1:9.2p1-2+deb12u3)",
      preDepends: "init-system-helpers (>= 1.54~)",
      recommends: "default-logind | logind | libpam-systemd, ncurses-term",
      source: "openssh",
      essential: false,
    });
    expect(postfix).toMatchObject({ name: "postfix", section: null, installedKib: null, description: "", essential: false });
    expect(base!.essential).toBe(true);
  });

  it("reads the file's bytes as it reads the text: a value with UTF-8 in it comes out decoded", () => {
    const text = `${STANZAS}\nPackage: fonts-ipa\nVersion: 1.0\u00e9-1\nArchitecture: all\nDescription: Japanese fonts (IPA \u30d5\u30a9\u30f3\u30c8), caf\u00e9\n  na\u00efve body \u2014 \ud83d\ude00\n`;
    const fromBytes = [...parsePackages(Buffer.from(text, "utf8"))];
    expect(fromBytes).toEqual([...parsePackages(text)]);
    expect(fromBytes.at(-1)).toMatchObject({ version: "1.0\u00e9-1", summary: "Japanese fonts (IPA \u30d5\u30a9\u30f3\u30c8), caf\u00e9", description: " na\u00efve body \u2014 \ud83d\ude00" });
    const asked: string[] = [];
    [...parsePackages(Buffer.from(text, "utf8"), (n, v) => (asked.push(`${n}=${v}`), false))];
    expect(asked.at(-1)).toBe("fonts-ipa=1.0\u00e9-1");
  });

  it("skips stanzas without a name or version and reads a list with no final newline", () => {
    expect([...parsePackages("Version: 1\n\nPackage: a1\nVersion: 2")].map((s) => s.name)).toEqual(["a1"]);
  });

  it("gives the provided names without versions or :any", () => {
    expect(providedNames("mail-transport-agent, libfoo (= 1.2), perl:any")).toEqual(["mail-transport-agent", "libfoo", "perl"]);
    expect(providedNames(null)).toEqual([]);
  });
});

describe("Release pins", () => {
  it("are 500, or 1 for NotAutomatic and 100 with ButAutomaticUpgrades, read through the signature", () => {
    const signed = (fields: string) => `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\n${fields}SHA256:\n abc 1 main/binary-amd64/Packages\n-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n`;
    expect(releasePriority(parseRelease(signed("Suite: stable\n")))).toBe(500);
    expect(releasePriority(parseRelease(signed("NotAutomatic: yes\n")))).toBe(1);
    expect(releasePriority(parseRelease(signed("NotAutomatic: yes\nButAutomaticUpgrades: yes\n")))).toBe(100);
    expect(parseRelease(signed("Codename: bookworm\n")).get("Codename")).toBe("bookworm");
  });
});

describe("compareVersions", () => {
  const pairs: [string, string][] = [
    ["1.0", "1.0"],
    ["1.0", "1.1"],
    ["1.0~rc1", "1.0"],
    ["1:1.0", "2.0"],
    ["1.0-1", "1.0-1+deb12u1"],
    ["1.0-1~bpo12+1", "1.0-1"],
    ["252.39-1~deb12u2", "254.26-1~bpo12+1"],
    ["2.36-9+deb12u4", "2.36-9+deb12u14"],
    ["1.0a", "1.0"],
    ["1.0.0", "1.0"],
    ["0:1.0", "1.0"],
    ["1.2.3-1", "1.2.3-1.1"],
    ["9.2p1-2+deb12u3", "9.2p1-2+deb12u10"],
    ["3.0.11-1~deb12u2", "3.0.15-1~deb12u1"],
    ["1.0+dfsg", "1.0-1"],
    ["10", "9"],
    ["1.0~~", "1.0~"],
  ];
  it("orders versions as dpkg --compare-versions does", async () => {
    for (const [a, b] of pairs) {
      const lt = (await execa("dpkg", ["--compare-versions", a, "lt", b], { reject: false })).exitCode === 0;
      const eq = (await execa("dpkg", ["--compare-versions", a, "eq", b], { reject: false })).exitCode === 0;
      const ours = Math.sign(compareVersions(a, b));
      expect(ours, `${a} vs ${b}`).toBe(lt ? -1 : eq ? 0 : 1);
      expect(Math.sign(compareVersions(b, a)), `${b} vs ${a}`).toBe(ours === 0 ? 0 : -ours);
    }
  });
});

describe("did you mean", () => {
  const names = ["openssh-server", "openssh-client", "ssh-server", "systemd", "systemd-boot", "vim", "linux-image-amd64"];
  it("finds the real name of a typo: a letter left out, swapped or wrong", () => {
    expect(closestNames("opnssh-server", names)[0]).toBe("openssh-server");
    expect(closestNames("sytsemd", names)[0]).toBe("systemd");
    expect(closestNames("linux-image-amd46", names)).toEqual(["linux-image-amd64"]);
  });
  it("suggests nothing for a name far from all", () => {
    expect(closestNames("firefox-esr", names)).toEqual([]);
  });
  it("counts a swap of neighbours as one edit and stops past the bound", () => {
    expect(editDistance("ab", "ba", 2)).toBe(1);
    expect(editDistance("kitten", "sitting", 3)).toBe(3);
    expect(editDistance("kitten", "sitting", 2)).toBe(3);
    expect(editDistance("abc", "abcdefgh", 2)).toBe(3);
  });
});

describe("search helpers", () => {
  it("ranks names with a prefix shortest first, the prefix itself left out", () => {
    const sorted = ["lib", "libc6", "libc6-dev", "libcurl4", "libz1", "lxc", "openssh-client"].sort();
    expect(shortestWithPrefix(sorted, "lib", 3)).toEqual(["libc6", "libz1", "libcurl4"]);
    expect(shortestWithPrefix(sorted, "openss", 5)).toEqual(["openssh-client"]);
    expect(shortestWithPrefix(sorted, "zzz", 5)).toEqual([]);
  });
  it("makes an FTS5 query of each word as a prefix, without the user's syntax", () => {
    expect(ftsQuery('ssh "server" OR NEAR(')).toBe('"ssh"* "server"* "or"* "near"*');
    expect(ftsQuery("--")).toBeNull();
  });
});

describe("indexSpec", () => {
  const doc = (settings: Record<string, unknown>, repositories: unknown[] = []) => profileDocumentSchema.parse({ settings, repositories });
  it("uses the profile's repositories, normalised, and the architecture's Debian name", () => {
    const r = indexSpec(doc({ Architecture: "arm64" }, [{ uri: "http://m.example.invalid/debian/", suites: ["bookworm", "bookworm"], components: ["main"] }]));
    expect(r).toMatchObject({ ok: true, spec: { architecture: "arm64", sources: [{ uri: "http://m.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] } });
  });
  it("gives the same key to the same sources however spelt, another to other sources or architectures", () => {
    const a = indexSpec(doc({}, [{ uri: "http://m.example.invalid/debian", suites: ["bookworm"], components: ["main"] }]));
    const b = indexSpec(doc({ Hostname: "other" }, [{ uri: "http://m.example.invalid/debian/", suites: ["bookworm"], components: ["main", "main"] }]));
    const c = indexSpec(doc({ Architecture: "arm64" }, [{ uri: "http://m.example.invalid/debian", suites: ["bookworm"], components: ["main"] }]));
    if (!a.ok || !b.ok || !c.ok) throw new Error("expected specs");
    expect(a.spec.key).toBe(b.spec.key);
    expect(a.spec.key).not.toBe(c.spec.key);
  });
  it("follows mkosi's own list from Mirror= without repositories, and says why without a mirror", () => {
    const r = indexSpec(doc({ Distribution: "debian", Release: "bookworm", Mirror: "http://m.example.invalid/debian", Repositories: ["contrib"] }));
    expect(r).toMatchObject({
      ok: true,
      spec: { sources: [{ uri: "http://m.example.invalid/debian", suites: ["bookworm", "bookworm-updates"], components: ["main", "contrib"], signedBy: "/usr/share/keyrings/debian-archive-keyring.gpg" }] },
    });
    expect(indexSpec(emptyDocument())).toMatchObject({ ok: false, reason: expect.stringMatching(/mkosi's built-in list/) });
  });
});

describe("apt's file names and the host's policy", () => {
  it("names a list file as apt's URItoFileName does", () => {
    expect(uriToFileName("http://deb.example.invalid/debian/dists/bookworm/main/binary-amd64/Packages")).toBe(
      "deb.example.invalid_debian_dists_bookworm_main_binary-amd64_Packages",
    );
    expect(uriToFileName("https://user:pw@m.example.invalid/my_repo/dists/x~y/InRelease")).toBe("m.example.invalid_my%5frepo_dists_x%7ey_InRelease");
  });

  it("reads apt-cache policy: each name's sources, without dpkg's status", () => {
    const text = [
      "systemd:",
      "  Installed: 254.26-1~bpo12+1",
      "  Candidate: 254.26-1~bpo12+1",
      "  Version table:",
      " *** 254.26-1~bpo12+1 100",
      "        100 http://m.example.invalid/debian bookworm-backports/main amd64 Packages",
      "        100 /var/lib/dpkg/status",
      "     252.39-1~deb12u2 500",
      "        500 http://m.example.invalid/debian bookworm/main amd64 Packages",
      "mail-transport-agent:",
      "  Installed: (none)",
      "  Candidate: (none)",
      "  Version table:",
    ].join("\n");
    const p = parsePolicy(text);
    expect(p.get("systemd")).toEqual([
      { uri: "http://m.example.invalid/debian", dist: "bookworm-backports/main", version: "254.26-1~bpo12+1" },
      { uri: "http://m.example.invalid/debian", dist: "bookworm/main", version: "252.39-1~deb12u2" },
    ]);
    expect(p.get("mail-transport-agent")).toEqual([]);
  });
});

describe("the SBOM", () => {
  const doc = spdxDocument({
    imageName: "immutable-debian",
    imageVersion: "1",
    distribution: "debian",
    packages: [
      { name: "systemd", version: "252.39-1~deb12u1", architecture: "amd64" },
      { name: "libstdc++6", version: "12.2.0-14+deb12u1", architecture: "amd64" },
      { name: "libstdc--6", version: "1", architecture: "amd64" },
      { name: "openssh-server", version: "1:9.2p1-2+deb12u3", architecture: "amd64" },
      { name: "tzdata", version: "2025b-0+deb12u1", architecture: "all" },
    ],
    created: new Date("2026-01-02T03:04:05.678Z"),
    namespace: "urn:uuid:0b2a5f4e-1c1d-4d0e-9a57-3d3c9c7f7a11",
    creators: ["Tool: image-studio", "Tool: mkosi-24.3"],
  });

  it("passes SPDX 2.3's schema: the image described, containing one package per .deb", () => {
    expect(spdxErrors(doc)).toEqual([]);
    expect(doc.packages).toHaveLength(6);
    expect(doc.relationships.filter((r) => r.relationshipType === "CONTAINS")).toHaveLength(5);
    expect(doc.relationships[0]).toEqual({ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: "SPDXRef-Image" });
    expect(new Set(doc.packages.map((p) => p.SPDXID)).size).toBe(6);
    expect(doc.creationInfo.created).toBe("2026-01-02T03:04:05Z");
  });

  it("gives each package a deb purl with the version and architecture percent-encoded", () => {
    const purl = (name: string) => doc.packages.find((p) => p.name === name)!.externalRefs![0]!;
    expect(purl("openssh-server")).toEqual({ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: "pkg:deb/debian/openssh-server@1%3A9.2p1-2%2Bdeb12u3?arch=amd64" });
    expect(purl("libstdc++6").referenceLocator).toBe("pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64");
    expect(debPurl("debian", { name: "tzdata", version: "2025b-0+deb12u1", architecture: "all" })).toBe("pkg:deb/debian/tzdata@2025b-0%2Bdeb12u1?arch=all");
  });

  it("is refused by the schema when a required field is missing or a field is unknown (the check can fail)", () => {
    const { documentNamespace: _, ...noNamespace } = doc;
    expect(spdxErrors(noNamespace).join("\n")).toMatch(/documentNamespace/);
    expect(spdxErrors({ ...doc, packages: [{ ...doc.packages[1]!, SPDXID: "SPDXRef-has space" }] }).join("\n")).toMatch(/pattern/);
    expect(spdxErrors({ ...doc, extra: 1 }).join("\n")).toMatch(/additional/);
  });
});

describe("the manifest diff", () => {
  const e = (name: string, version: string) => ({ name, version, architecture: "amd64", installedKib: null, asked: false });
  it("lists packages added, removed and changed in version", () => {
    const d = diffManifests([e("a", "1"), e("b", "1"), e("c", "1")], [e("b", "1"), e("c", "2"), e("d", "1")]);
    expect(d.added.map((p) => p.name)).toEqual(["d"]);
    expect(d.removed.map((p) => p.name)).toEqual(["a"]);
    expect(d.changed).toEqual([{ name: "c", architecture: "amd64", from: "1", to: "2" }]);
    expect(d.unchanged).toBe(1);
  });
});

describe("the manifest setting", () => {
  it("is on for a new profile and the presets: [Output] ManifestFormat=json, which mkosi 24 reads there", () => {
    expect(renderMkosiConf(emptyDocument())).toBe("[Output]\nManifestFormat=json\n");
    for (const p of PRESETS) expect(renderMkosiConf(p.build({ aptRepositories: [] }))).toMatch(/\[Output\][^[]*\nManifestFormat=json\n/);
  });
});

describe("parsePackages with a filter", () => {
  it("asks for each stanza's name, version and architecture, the first one too, and reads only those wanted", () => {
    const asked: string[] = [];
    const read = [...parsePackages(STANZAS, (n, v, a) => (asked.push(`${n}=${v}:${a}`), n !== "postfix"))].map((s) => s.name);
    expect(asked).toEqual(["openssh-server=1:9.2p1-2+deb12u3:amd64", "postfix=3.7.11-0+deb12u1:amd64", "base-files=12.4+deb12u5:amd64"]);
    expect(read).toEqual(["openssh-server", "base-files"]);
  });
});
