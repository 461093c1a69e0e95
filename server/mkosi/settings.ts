// The one model of the mkosi settings the dashboard knows. The form, the renderer, the
// importer and the validator all read this list; nothing else names these settings.
//
// Sections are mkosi 24's: mkosi 25 and 26 read that layout (with warnings), while 24
// silently ignores sections it does not know (docs/mkosi-notes.md, "Sections").

export const SECTIONS = ["Distribution", "Output", "Content", "Validation"] as const;
export type Section = (typeof SECTIONS)[number];

/** Sections mkosi up to `until` read; later versions skip them without a word. */
export const FORMER_SECTIONS: Readonly<Record<string, { becomes: Section; until: number }>> = {
  // mkosi 14 renamed an old [Packages] section to [Content] while reading, 15 read every
  // section alike, 16 began to skip sections it does not know.
  Packages: { becomes: "Content", until: 15 },
};

/** The first mkosi major that skips a section it does not know (or spelt in another case). */
export const SKIPS_UNKNOWN_SECTIONS_SINCE = 16;

/** What mkosi does with a setting name it does not know, for notes and messages. */
export function unknownSettingEffect(key: string): string {
  return `mkosi 15 to 25 stop at ${key}= ("Unknown setting ${key}") and 26 ignores it with a warning`;
}

/** How a value is written in mkosi.conf and how the importer reads it back. */
export type SettingKind =
  | { type: "string"; pattern?: ValuePattern }
  | { type: "enum"; values: readonly string[] }
  | { type: "boolean" }
  /** mkosi's ConfigFeature: yes, no or auto. */
  | { type: "feature" }
  /** A list; mkosi splits values on newlines and on `delimiter`, an empty assignment resets. */
  | { type: "list"; delimiter: "," | " "; item?: ValuePattern; values?: readonly string[] };

export interface ValuePattern {
  regex: RegExp;
  /** Completes "must be ...", e.g. "a Debian package name (lowercase letters, digits, + - .)". */
  rule: string;
}

export interface SettingDef {
  key: string;
  section: Section;
  kind: SettingKind;
  /** What mkosi does when the setting is absent, in the form's terms; undefined = unset. */
  default?: string | boolean | readonly string[];
  /** What a new profile starts with, written into mkosi.conf (unlike `default`, which mkosi applies itself). */
  initial?: string | boolean | readonly string[];
  /** First mkosi major version that accepts the setting in this section. */
  since: number;
  /** Last mkosi major version that accepts it, when it was removed or renamed. */
  until?: number;
  help: string;
  /** Form grouping. */
  group: "distribution" | "output" | "content" | "boot" | "login" | "verified-boot" | "validation";
  /** A password: the form hides it behind a reveal toggle. */
  secret?: boolean;
  /**
   * How `mkosi --json summary` prints the value, where that is not the form's value as JSON
   * (a feature's spelling comes from FEATURE_NAMES). The summary's key is always `key`.
   * Measured and read per version: docs/mkosi-notes.md, "How mkosi --json summary spells values".
   */
  summary?: SummarySpelling;
  /**
   * How mkosi up to `until` spelled or placed the setting: the importer reads these as the
   * setting (mkosi 15 and later reject the old name, or warn about the old section; see
   * docs/mkosi-notes.md, "Setting names").
   */
  formerly?: readonly FormerSpelling[];
  /** Values mkosi up to `until` took, and the value that replaced each. */
  formerValues?: { readonly values: Readonly<Record<string, string>>; readonly until: number };
}

export interface FormerSpelling {
  /** The old name, when it was renamed. */
  key?: string;
  /** The old section, when it moved. */
  section?: string;
  /** The last mkosi major that had it so. */
  until: number;
}

export type SummarySpelling =
  /** A fixed spelling per form value (keyed by the value as text); mkosi majors before `since` print the value itself. */
  | { type: "values"; values: Readonly<Record<string, unknown>>; since?: number }
  /** `[text, hashed]`: the value without its `prefix`, and whether it had it. */
  | { type: "pair"; prefix: string }
  /** Each list item with `prefix` before it (except the words in `except`), from mkosi major `since`. */
  | { type: "items"; prefix: string; except: readonly string[]; since: number };

// Debian Policy 5.6.1: at least two characters, lowercase alphanumerics and + - .,
// starting with an alphanumeric. Ubuntu uses the same rule.
export const DEBIAN_PACKAGE: ValuePattern = {
  regex: /^[a-z0-9][a-z0-9+.-]+$/,
  rule: "a Debian package name (lowercase letters, digits, '+', '-' and '.', starting with a letter or digit)",
};

const WORD: ValuePattern = { regex: /^[A-Za-z0-9][A-Za-z0-9._+-]*$/, rule: "letters, digits, '.', '_', '+' and '-'" };
const URL: ValuePattern = {
  regex: /^(https?|file):\/\/[A-Za-z0-9._~:/?@!$&'()*+,=%-]+$/,
  rule: "an http://, https:// or file:// address",
};
const HOSTNAME: ValuePattern = {
  regex: /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
  rule: "a host name (letters, digits and '-', dot-separated labels, at most 64 characters)",
};
const LOCALE: ValuePattern = { regex: /^[A-Za-z0-9_.@-]+$/, rule: "a locale such as C.UTF-8 or en_US.UTF-8" };
const TIMEZONE: ValuePattern = { regex: /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, rule: "a time zone such as UTC or Europe/Berlin" };
// A kernel command line word: no spaces (they separate words), no comment characters.
const CMDLINE_WORD: ValuePattern = { regex: /^[^\s#;"'\\]+$/, rule: "a kernel command line word without spaces, quotes, '#' or ';'" };
// A kernel module pattern: a Python regular expression searched in the module's path under
// /usr/lib/modules/<version>/ (kmod.py), written without spaces, commas (the list's delimiter),
// quotes, comment characters or backslashes.
const MODULE_REGEX: ValuePattern = {
  // A '[' first would read as a section header.
  regex: /^(?!\[)[A-Za-z0-9_.*+?^$()[\]|/-]+$/,
  rule: "a regular expression of module paths such as /virtio_blk.ko or .* (letters, digits and _ . * + ? ^ $ ( ) [ ] | / -, not '[' first)",
};
// mkosi 26 prints the regular expressions of the old settings as 're:<regex>' (parse_kernel_module_filter_regexp).
const MODULE_REGEX_SUMMARY = { type: "items", prefix: "re:", except: ["default", "host"], since: 26 } as const;

/** RootPassword= text starting with this is a crypt hash, not the password itself. */
export const HASHED_PASSWORD_PREFIX = "hashed:";

// mkosi 24 cuts a line at '#' or ';' wherever they stand, so a password may not hold them.
const PASSWORD: ValuePattern = {
  regex: /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/,
  rule: "printable characters without leading or trailing spaces",
};

export const SETTINGS = [
  // [Distribution]
  {
    key: "Distribution", section: "Distribution", group: "distribution", since: 14,
    kind: { type: "enum", values: ["debian", "ubuntu"] }, default: "debian",
    help: "The distribution to install in the image.",
  },
  {
    key: "Release", section: "Distribution", group: "distribution", since: 14,
    kind: { type: "string", pattern: WORD },
    help: "The release code name, e.g. bookworm or noble.",
  },
  {
    key: "Architecture", section: "Distribution", group: "distribution", since: 14,
    kind: { type: "enum", values: ["x86-64", "arm64"] }, default: "x86-64",
    help: "CPU architecture of the image (defaults to the build host's).",
  },
  {
    key: "Mirror", section: "Distribution", group: "distribution", since: 14,
    kind: { type: "string", pattern: URL },
    help: "Package mirror used by mkosi's own repository list; empty leaves mkosi's default.",
  },
  {
    key: "Repositories", section: "Distribution", group: "distribution", since: 14,
    kind: { type: "list", delimiter: ",", item: WORD },
    help: "Extra archive components mkosi enables in its own list, e.g. universe on Ubuntu.",
  },
  // [Output]
  {
    key: "Format", section: "Output", group: "output", since: 14,
    kind: { type: "enum", values: ["disk", "directory", "tar", "cpio", "uki", "esp", "none"] }, default: "disk",
    // mkosi 15 moved partitioning to systemd-repart: one disk format, file systems per partition.
    formerValues: { until: 14, values: { gpt_ext4: "disk", gpt_xfs: "disk", gpt_btrfs: "disk", gpt_squashfs: "disk" } },
    help: "What kind of image to write: a partitioned disk, a plain tree, an archive or a UKI.",
  },
  {
    key: "SplitArtifacts", section: "Output", group: "output", since: 14,
    kind: { type: "boolean" }, default: false,
    // mkosi 25 made it a list of artifacts and reads yes/no as these two lists.
    summary: { type: "values", since: 25, values: { true: ["uki", "kernel", "initrd", "partitions"], false: ["uki", "kernel", "initrd"] } },
    help: "Also write each partition, the kernel, initrd and UKI as separate files.",
  },
  {
    key: "ImageId", section: "Output", group: "output", since: 14,
    kind: { type: "string", pattern: WORD },
    help: "Image identifier: written to os-release as IMAGE_ID and used to name the output.",
  },
  {
    key: "ImageVersion", section: "Output", group: "output", since: 14,
    kind: { type: "string", pattern: WORD },
    help: "Image version: written to os-release as IMAGE_VERSION and appended to the output name.",
  },
  {
    key: "CompressOutput", section: "Output", group: "output", since: 14,
    kind: { type: "enum", values: ["no", "zstd", "xz"] },
    // mkosi's Compression enum calls "no" none (and reads CompressOutput=none too).
    summary: { type: "values", values: { no: "none" } },
    help: "Compress the final image; leave unset to keep a raw disk that boots as is.",
  },
  {
    key: "ManifestFormat", section: "Output", group: "output", since: 14,
    kind: { type: "list", delimiter: ",", values: ["json", "changelog"] }, initial: ["json"],
    help: "Write a manifest of the installed packages in these formats; json is what the build page's package list, package diff and SBOM read.",
  },
  // [Content]
  {
    key: "Packages", section: "Content", group: "content", since: 14,
    kind: { type: "list", delimiter: ",", item: DEBIAN_PACKAGE },
    help: "Packages to install in the image.",
  },
  {
    key: "RemovePackages", section: "Content", group: "content", since: 14,
    kind: { type: "list", delimiter: ",", item: DEBIAN_PACKAGE },
    help: "Packages to remove again after installation (pulled in by dependencies).",
  },
  {
    key: "WithDocs", section: "Content", group: "content", since: 14,
    kind: { type: "boolean" }, default: true,
    help: "Keep documentation (man pages, /usr/share/doc) in the image.",
  },
  {
    key: "CleanPackageMetadata", section: "Content", group: "content", since: 14,
    kind: { type: "feature" }, default: "auto",
    help: "Remove package manager databases; auto removes them when the package manager is not installed.",
  },
  {
    key: "Bootable", section: "Content", group: "boot", since: 14,
    formerly: [{ section: "Output", until: 14 }],
    kind: { type: "feature" }, default: "auto",
    help: "Install a boot loader and kernel so the disk boots on UEFI machines.",
  },
  {
    key: "Bootloader", section: "Content", group: "boot", since: 16,
    kind: { type: "enum", values: ["systemd-boot", "uki", "grub", "none"] }, default: "systemd-boot",
    help: "systemd-boot with a UKI, a bare UKI as the EFI binary, or GRUB.",
  },
  {
    key: "KernelCommandLine", section: "Content", group: "boot", since: 14,
    formerly: [{ section: "Output", until: 14 }],
    kind: { type: "list", delimiter: " ", item: CMDLINE_WORD },
    help: "Kernel command line words embedded in the UKI, e.g. console=ttyS0.",
  },
  // mkosi 24 and 25 put every module of the kernel into the UKI's modules initrd (122 MB for
  // Debian's kernel); these two trim it (docs/mkosi-notes.md, "The kernel modules initrd").
  {
    key: "KernelModulesInitrdExclude", section: "Content", group: "boot", since: 15,
    kind: { type: "list", delimiter: ",", item: MODULE_REGEX },
    summary: MODULE_REGEX_SUMMARY,
    help: "Kernel modules left out of the UKI's modules initrd (regular expressions of their paths); .* leaves out all but the included.",
  },
  {
    key: "KernelModulesInitrdInclude", section: "Content", group: "boot", since: 15,
    kind: { type: "list", delimiter: ",", item: MODULE_REGEX },
    summary: MODULE_REGEX_SUMMARY,
    help: "Kernel modules kept in the modules initrd even when excluded: regular expressions, or default for mkosi-initrd's own list.",
  },
  {
    key: "Hostname", section: "Content", group: "login", since: 14,
    formerly: [{ section: "Output", until: 14 }],
    kind: { type: "string", pattern: HOSTNAME },
    help: "Host name written to /etc/hostname.",
  },
  {
    key: "Locale", section: "Content", group: "login", since: 15,
    kind: { type: "string", pattern: LOCALE },
    help: "System locale; set it so systemd-firstboot does not ask at boot.",
  },
  {
    key: "Timezone", section: "Content", group: "login", since: 15,
    kind: { type: "string", pattern: TIMEZONE },
    help: "System time zone; set it so systemd-firstboot does not ask at boot.",
  },
  {
    key: "RootPassword", section: "Content", group: "login", since: 15, secret: true,
    // mkosi 14's PasswordIsHashed=yes became the "hashed:" prefix.
    formerly: [{ key: "Password", until: 14 }],
    kind: { type: "string", pattern: PASSWORD },
    summary: { type: "pair", prefix: HASHED_PASSWORD_PREFIX },
    help: "Root password (plain, or 'hashed:' followed by a crypt hash); empty locks root.",
  },
  {
    key: "Autologin", section: "Content", group: "login", since: 14,
    kind: { type: "boolean" }, default: false,
    help: "Log root in automatically on the console (tty1, hvc0; not the serial ttyS0).",
  },
  // [Validation]: verified boot (docs/mkosi-notes.md, "Verified boot")
  {
    key: "SecureBoot", section: "Validation", group: "verified-boot", since: 14,
    kind: { type: "boolean" }, default: false,
    help: "Sign systemd-boot and the UKI with the profile's signing key (sbsign): Secure Boot firmware starts nothing else.",
  },
  {
    key: "SignExpectedPcr", section: "Validation", group: "verified-boot", since: 20,
    kind: { type: "feature" }, default: "auto",
    help: "Measured boot: sign the PCR 11 values the UKI will produce into its .pcrsig (mkosi 24: with Secure Boot on).",
  },
  {
    key: "Verity", section: "Validation", group: "verified-boot", since: 25,
    kind: { type: "feature" }, default: "auto",
    help: "mkosi 25 and later: yes fails a build whose disk has no signed verity partitions (24 has no such setting).",
  },
  {
    key: "Checksum", section: "Validation", group: "validation", since: 14,
    kind: { type: "boolean" }, default: false,
    help: "Write a SHA256SUMS file for the outputs.",
  },
] as const satisfies readonly SettingDef[];

/**
 * The settings that name key and certificate files. A profile never holds their paths: the
 * build passes the key store's files on mkosi's command line, and an exported project gets
 * them where mkosi looks without a setting, mkosi.key and mkosi.crt in the project folder.
 */
export interface KeySettingDef {
  key: string;
  /** mkosi's command line option for it. */
  option: string;
  file: "key" | "certificate";
  since: number;
  until?: number;
  help: string;
}

export const KEY_FILES = { key: "mkosi.key", certificate: "mkosi.crt" } as const;

export const KEY_SETTINGS: readonly KeySettingDef[] = [
  { key: "SecureBootKey", option: "--secure-boot-key", file: "key", since: 14, help: "Signs systemd-boot and the UKI (and, in mkosi 24, the PCR policy)." },
  { key: "SecureBootCertificate", option: "--secure-boot-certificate", file: "certificate", since: 14, help: "The certificate the firmware's db must hold." },
  { key: "VerityKey", option: "--verity-key", file: "key", since: 15, help: "Signs the root hash into the verity signature partition." },
  { key: "VerityCertificate", option: "--verity-certificate", file: "certificate", since: 15, help: "Written beside the signature; the kernel checks it against its keyring." },
  { key: "SignExpectedPcrKey", option: "--sign-expected-pcr-key", file: "key", since: 25, help: "Signs the expected PCR 11 policy (.pcrsig)." },
  { key: "SignExpectedPcrCertificate", option: "--sign-expected-pcr-certificate", file: "certificate", since: 25, help: "Its public half, in the UKI's .pcrpkey." },
];

/** The key settings this mkosi major takes. */
export const keySettingsFor = (mkosiMajor: number): KeySettingDef[] =>
  KEY_SETTINGS.filter((k) => mkosiMajor >= k.since && (k.until === undefined || mkosiMajor <= k.until));

type Defs = (typeof SETTINGS)[number];
export type SettingKey = Defs["key"];

type ValueOf<K> = K extends { type: "boolean" }
  ? boolean
  : K extends { type: "list" }
    ? string[]
    : K extends { type: "enum"; values: readonly (infer V)[] }
      ? V
      : K extends { type: "feature" }
        ? "yes" | "no" | "auto"
        : string;

/** A profile's values: an absent key is not written, so mkosi's default applies. */
export type SettingValues = { [D in Defs as D["key"]]?: ValueOf<D["kind"]> };

const byKey = new Map<string, SettingDef>(SETTINGS.map((s) => [s.key, s]));

export function settingDef(key: string): SettingDef | undefined {
  return byKey.get(key);
}

/** A setting's value, or mkosi's default for it (as the model records it) when the profile leaves it unset. */
export function valueOrDefault<K extends SettingKey>(values: SettingValues, key: K): SettingValues[K] {
  return values[key] ?? (byKey.get(key)?.default as SettingValues[K]);
}

export function isKnownSetting(key: string): key is SettingKey {
  return byKey.has(key);
}

export const FEATURE_VALUES = ["yes", "no", "auto"] as const;
export type FeatureValue = (typeof FEATURE_VALUES)[number];

/**
 * mkosi's names for a feature's values (its ConfigFeature enum): what `mkosi --json summary`
 * prints, and what mkosi.conf accepts besides booleans and auto.
 */
export const FEATURE_NAMES: Readonly<Record<FeatureValue, string>> = { yes: "enabled", no: "disabled", auto: "auto" };

const FEATURE_SPELLING: SummarySpelling = { type: "values", values: FEATURE_NAMES };

/** How the summary spells a setting's values: its own record, or its kind's. */
export function summarySpelling(def: SettingDef): SummarySpelling | undefined {
  return def.summary ?? (def.kind.type === "feature" ? FEATURE_SPELLING : undefined);
}

/** How `mkosi --json summary` of this mkosi major prints a value the form holds. */
export function summaryValue(def: SettingDef, value: unknown, mkosiMajor: number): unknown {
  const spelling = summarySpelling(def);
  if (!spelling) return value;
  if (spelling.type === "pair") {
    const text = String(value);
    return text.startsWith(spelling.prefix) ? [text.slice(spelling.prefix.length), true] : [text, false];
  }
  if (spelling.since !== undefined && mkosiMajor < spelling.since) return value;
  if (spelling.type === "items")
    return (value as readonly string[]).map((item) => (spelling.except.includes(item) ? item : spelling.prefix + item));
  const key = String(value);
  return Object.hasOwn(spelling.values, key) ? spelling.values[key] : value;
}

/**
 * A value written in mkosi.conf as mkosi's own name for it (CompressOutput=none,
 * Bootable=enabled), in the form's terms; undefined when it is no such name.
 */
export function fromMkosiName(def: SettingDef, written: string): string | undefined {
  const spelling = summarySpelling(def);
  // Only names every major prints are names mkosi.conf accepts (a list of artifacts is not one).
  if (spelling?.type !== "values" || spelling.since !== undefined) return undefined;
  return Object.entries(spelling.values).find(([, name]) => name === written)?.[0];
}

/** The values a new profile starts with: each setting's `initial`. */
export function initialSettings(): SettingValues {
  const defs = SETTINGS as readonly SettingDef[];
  return Object.fromEntries(defs.flatMap((d) => (d.initial === undefined ? [] : [[d.key, structuredClone(d.initial)]]))) as SettingValues;
}

/** Whether the setting is accepted by this mkosi major version. */
export function supportedBy(def: SettingDef, mkosiMajor: number): boolean {
  return mkosiMajor >= def.since && (def.until === undefined || mkosiMajor <= def.until);
}
