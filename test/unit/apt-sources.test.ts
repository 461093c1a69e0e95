// Reading the host's apt sources (deb822 and one-line) into the profile's repository shape.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostAptRepositories } from "@/server/host/facts";
import { parseDeb822, parseOneLine, reposForRelease } from "@/server/mkosi/apt-sources";
import { PRESETS } from "@/server/mkosi/presets";
import { repositorySchema, type Repository } from "@/server/mkosi/profile";

const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

describe("parseDeb822", () => {
  it("reads several stanzas with comments and continuation lines", () => {
    const text = [
      "# Debian's archive",
      "Types: deb",
      "# a comment inside the stanza",
      "URIs: http://mirror.example.invalid/debian",
      "Suites: bookworm bookworm-updates",
      "Components: main",
      `Signed-By: ${KEYRING}`,
      "",
      "",
      "## the security archive",
      "types: deb",
      "URIs:   http://security.example.invalid/debian-security  ",
      "Suites:",
      " bookworm-security",
      "Components: main",
      "\tcontrib non-free-firmware",
      "",
    ].join("\n");
    expect(parseDeb822(text)).toEqual([
      { uri: "http://mirror.example.invalid/debian", suites: ["bookworm", "bookworm-updates"], components: ["main"], signedBy: KEYRING },
      { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main", "contrib", "non-free-firmware"] },
    ]);
  });

  it("reads a file of comments only, or nothing, as no repositories", () => {
    expect(parseDeb822("")).toEqual([]);
    expect(parseDeb822("# nothing here\n\n# still nothing\n")).toEqual([]);
    expect(parseDeb822("\n\n\nTypes: deb\nURIs: http://a.example.invalid/x\nSuites: s\nComponents: c\n\n\n")).toHaveLength(1);
  });

  it.each([
    ["a field the model cannot hold", "Types: deb\nURIs: http://a.example.invalid/x\nSuites: s\nComponents: c\nArchitectures: amd64\n"],
    ["a disabled entry", "Enabled: no\nTypes: deb\nURIs: http://a.example.invalid/x\nSuites: s\nComponents: c\n"],
    ["source packages", "Types: deb deb-src\nURIs: http://a.example.invalid/x\nSuites: s\nComponents: c\n"],
    ["source packages only", "Types: deb-src\nURIs: http://a.example.invalid/x\nSuites: s\nComponents: c\n"],
    ["two addresses", "Types: deb\nURIs: http://a.example.invalid/x http://b.example.invalid/x\nSuites: s\nComponents: c\n"],
    ["a line that is no field", "Types: deb\nthis is not deb822\n"],
  ])("gives up on %s", (_what, text) => {
    expect(parseDeb822(text)).toBeUndefined();
  });
});

describe("parseOneLine", () => {
  it("reads deb lines with [options], comments and deb-src skipped", () => {
    const text = [
      "# main archive",
      `deb [arch=amd64 signed-by=${KEYRING}] http://mirror.example.invalid/debian bookworm main contrib non-free-firmware`,
      `deb-src [signed-by=${KEYRING}] http://mirror.example.invalid/debian bookworm main`,
      "deb http://security.example.invalid/debian-security bookworm-security main # trailing comment",
      "#deb http://old.example.invalid/debian buster main",
      "   deb    http://mirror.example.invalid/debian   bookworm-updates   main   ",
      `deb [ signed-by=${KEYRING} ] http://mirror.example.invalid/debian bookworm-backports main`,
      "",
    ].join("\n");
    expect(parseOneLine(text)).toEqual([
      { uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main", "contrib", "non-free-firmware"], signedBy: KEYRING },
      { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main"] },
      { uri: "http://mirror.example.invalid/debian", suites: ["bookworm-updates"], components: ["main"] },
      { uri: "http://mirror.example.invalid/debian", suites: ["bookworm-backports"], components: ["main"], signedBy: KEYRING },
    ]);
  });

  it("ignores options other than signed-by", () => {
    expect(parseOneLine("deb [arch=amd64 trusted=yes] http://a.example.invalid/x bookworm main\n")).toEqual([
      { uri: "http://a.example.invalid/x", suites: ["bookworm"], components: ["main"] },
    ]);
  });

  it("reads nothing from comments and blank lines", () => {
    expect(parseOneLine("# deb http://a.example.invalid/x bookworm main\n\n   \n")).toEqual([]);
  });
});

describe("reposForRelease", () => {
  const host: Repository[] = [
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm", "bookworm-updates", "bookworm-backports"], components: ["main"], signedBy: KEYRING },
    { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main"] },
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm-backports"], components: ["main"] },
    { uri: "http://mirror.example.invalid/debian", suites: ["trixie", "trixie-updates"], components: ["main"] },
    { uri: "http://other.example.invalid/apt", suites: ["cloud-sdk-bookworm", "bookwormish"], components: ["main"] },
  ];

  it("keeps the release's main, updates and security suites and drops backports and other releases", () => {
    expect(reposForRelease(host, "bookworm")).toEqual([
      { uri: "http://mirror.example.invalid/debian", suites: ["bookworm", "bookworm-updates"], components: ["main"], signedBy: KEYRING },
      { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main"] },
    ]);
    expect(reposForRelease(host, "trixie")).toEqual([{ uri: "http://mirror.example.invalid/debian", suites: ["trixie", "trixie-updates"], components: ["main"] }]);
    expect(reposForRelease(host, "noble")).toEqual([]);
  });

  it("does not change the host's list", () => {
    const copy = structuredClone(host);
    reposForRelease(host, "bookworm");
    expect(host).toEqual(copy);
  });
});

describe("the host's apt folder", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "apt-test-"));
    await mkdir(join(root, "sources.list.d"));
    await writeFile(join(root, "sources.list"), "deb http://mirror.example.invalid/debian bookworm main\n");
    await writeFile(
      join(root, "sources.list.d", "b-security.sources"),
      `Types: deb\nURIs: http://security.example.invalid/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: ${KEYRING}\n`,
    );
    await writeFile(join(root, "sources.list.d", "a-extra.list"), "deb http://extra.example.invalid/apt bookworm main\n");
    await writeFile(join(root, "sources.list.d", "c.list.disabled"), "deb http://disabled.example.invalid/apt bookworm main\n");
    // A host file is read for what apt would use: other fields are fine, disabled stanzas and deb-src are not.
    await writeFile(
      join(root, "sources.list.d", "d.sources"),
      "Types: deb deb-src\nURIs: http://arch.example.invalid/x\nSuites: bookworm\nComponents: main\nArchitectures: amd64\n\n" +
        "Types: deb\nURIs: http://off.example.invalid/x\nSuites: bookworm\nComponents: main\nEnabled: no\n\n" +
        "Types: deb-src\nURIs: http://src.example.invalid/x\nSuites: bookworm\nComponents: main\n",
    );
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("reads sources.list, then the drop-ins in name order, skipping what apt would not use", () => {
    expect(hostAptRepositories(root).map((r) => r.uri)).toEqual([
      "http://mirror.example.invalid/debian",
      "http://extra.example.invalid/apt",
      "http://security.example.invalid/debian-security",
      "http://arch.example.invalid/x",
    ]);
  });

  it("reads a missing folder as no repositories", () => {
    expect(hostAptRepositories(join(root, "nope"))).toEqual([]);
  });
});

// What the parsers return is fed to the presets as the host's facts and stored in profiles, so
// it must be what the profile schema accepts. Real hosts write these:
const REAL_WORLD: [string, string, "deb822" | "one-line"][] = [
  // Debian's cloud images (bookworm) point apt at a mirror list.
  [
    "a mirror+file: address (Debian cloud images)",
    `Types: deb\nURIs: mirror+file:///etc/apt/mirrors/debian.list\nSuites: bookworm bookworm-updates bookworm-backports\nComponents: main\nSigned-By: ${KEYRING}\n`,
    "deb822",
  ],
  // deb822 allows the key itself in Signed-By, as a multi-line field.
  [
    "an embedded Signed-By key",
    "Types: deb\nURIs: http://vendor.example.invalid/apt\nSuites: bookworm\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBGNotARealKey\n -----END PGP PUBLIC KEY BLOCK-----\n",
    "deb822",
  ],
  ["a cdrom entry", "deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1]/ bookworm contrib main\n", "one-line"],
];

describe("what the parsers return fits the profile", () => {
  it.each(REAL_WORLD)("%s: the repositories for bookworm are ones the profile schema accepts, and the presets build", (_what, text, format) => {
    const repos = (format === "deb822" ? parseDeb822(text) : parseOneLine(text)) ?? [];
    const forRelease = reposForRelease(repos, "bookworm");
    for (const r of forRelease) expect(repositorySchema.safeParse(r).error?.issues ?? [], JSON.stringify(r)).toEqual([]);
    for (const p of PRESETS) expect(() => p.build({ osId: "debian", aptRepositories: repos }), p.id).not.toThrow();
  });
});
