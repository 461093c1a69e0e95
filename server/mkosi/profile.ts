// The profile document: everything the dashboard knows about one image, validated by zod.
// Types are inferred from these schemas; the settings part is derived from the model.
import { z } from "zod";
import { FEATURE_VALUES, initialSettings, SETTINGS, type SettingDef, type SettingValues, type ValuePattern } from "./settings";
import { formatBytes, parseSize } from "./size";

/** Characters that would change the structure of an INI-style file if written into a value. */
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * A value safe to write after `Key=` in mkosi.conf: mkosi 24 cuts every line at `#` or `;`
 * wherever they stand, and a newline would start a new setting.
 */
export function mkosiValueProblem(value: string): string | undefined {
  if (CONTROL.test(value)) return "must not contain line breaks or control characters";
  if (/[#;]/.test(value)) return "must not contain '#' or ';' (mkosi reads them as the start of a comment)";
  if (value !== value.trim()) return "must not start or end with spaces";
  return undefined;
}

/** A value safe in a systemd-style unit or repart.d file (comments only at line start). */
export function unitValueProblem(value: string): string | undefined {
  if (CONTROL.test(value)) return "must not contain line breaks or control characters";
  if (value.endsWith("\\")) return "must not end with '\\' (it would continue onto the next line)";
  if (value !== value.trim()) return "must not start or end with spaces";
  return undefined;
}

const patterned = (p: ValuePattern | undefined, check: (v: string) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const structural = v === "" ? "must not be empty" : check(v);
    if (structural) ctx.addIssue({ code: "custom", message: structural });
    else if (p && !p.regex.test(v)) ctx.addIssue({ code: "custom", message: `'${v}' must be ${p.rule}` });
  });

function settingSchema(def: SettingDef): z.ZodType {
  const k = def.kind;
  switch (k.type) {
    case "boolean":
      return z.boolean();
    case "feature":
      return z.enum(FEATURE_VALUES);
    case "enum":
      return z.enum(k.values as [string, ...string[]], { error: `must be one of ${k.values.join(", ")}` });
    case "string":
      return patterned(k.pattern, mkosiValueProblem);
    case "list": {
      const item = k.values
        ? z.enum(k.values as [string, ...string[]], { error: `must be one of ${k.values.join(", ")}` })
        : patterned(k.item, mkosiValueProblem);
      return z.array(item);
    }
  }
}

export const settingsSchema = z
  .object(Object.fromEntries(SETTINGS.map((d) => [d.key, settingSchema(d).optional()])))
  .strict() as unknown as z.ZodType<SettingValues>;

// --- Repositories -------------------------------------------------------------------

const debWord = patterned({ regex: /^[A-Za-z0-9][A-Za-z0-9._/-]*$/, rule: "a suite or component name" }, unitValueProblem);

export const repositorySchema = z.object({
  uri: patterned({ regex: /^(https?|file):\/\/\S+$/, rule: "an http://, https:// or file:// address" }, unitValueProblem),
  suites: z.array(debWord).min(1, "needs at least one suite"),
  components: z.array(debWord).min(1, "needs at least one component"),
  signedBy: patterned({ regex: /^\/[A-Za-z0-9._/+-]+$/, rule: "an absolute path to a keyring file" }, unitValueProblem)
    .optional(),
});
export type Repository = z.infer<typeof repositorySchema>;

// --- Partitions -----------------------------------------------------------------------

export const PARTITION_TYPES = ["esp", "root", "root-verity", "root-verity-sig", "usr", "var", "home", "swap", "linux-generic"] as const;
export const PARTITION_FORMATS = ["vfat", "squashfs", "erofs", "ext4", "btrfs", "xfs", "swap"] as const;
export const READ_ONLY_FORMATS = ["squashfs", "erofs"] as const;
/** The formats that make a file system (Minimize= applies to them), i.e. all but swap. */
export const FILE_SYSTEM_FORMATS: readonly PartitionFormat[] = PARTITION_FORMATS.filter((f) => f !== "swap");
export type PartitionFormat = (typeof PARTITION_FORMATS)[number];
export const MINIMIZE = ["off", "best", "guess"] as const;
/**
 * mksquashfs's compressors and the -Xcompression-level range each takes (xz and lz4 take
 * none). systemd-repart 254 has no Compression= key, so the choice reaches mksquashfs through
 * the environment (docs/mkosi-notes.md, "Squashfs compression").
 */
export const SQUASHFS_COMPRESSORS = {
  gzip: { min: 1, max: 9 },
  lzo: { min: 1, max: 9 },
  zstd: { min: 1, max: 22 },
  xz: null,
  lz4: null,
} as const;
export type SquashfsCompressor = keyof typeof SQUASHFS_COMPRESSORS;
export const COMPRESSOR_NAMES = Object.keys(SQUASHFS_COMPRESSORS) as [SquashfsCompressor, ...SquashfsCompressor[]];
/**
 * systemd-repart's Verity=: the protected data, its hash tree, or the signed root hash. The
 * three are tied together by one VerityMatchKey= (docs/mkosi-notes.md, "Verified boot").
 */
export const VERITY_ROLES = ["data", "hash", "signature"] as const;
export type VerityRole = (typeof VERITY_ROLES)[number];

const sizeString = z.string().superRefine((v, ctx) => {
  const r = parseSize(v);
  if (!r.ok) ctx.addIssue({ code: "custom", message: r.error });
});

// CopyFiles=SOURCE[:TARGET]: both absolute paths inside the image tree.
const copyFilesLine = patterned(
  { regex: /^\/[^\s:]*(:\/[^\s:]*)?$/, rule: "SOURCE or SOURCE:TARGET, both absolute paths without spaces" },
  unitValueProblem,
);

export const partitionSchema = z.object({
  type: z.enum(PARTITION_TYPES, { error: `must be one of ${PARTITION_TYPES.join(", ")}` }),
  format: z.enum(PARTITION_FORMATS, { error: `must be one of ${PARTITION_FORMATS.join(", ")}` }).optional(),
  label: patterned({ regex: /^[A-Za-z0-9%_.-]{1,36}$/, rule: "at most 36 letters, digits, '_', '.', '-' or % specifiers" }, unitValueProblem)
    .optional(),
  copyFiles: z.array(copyFilesLine).default([]),
  sizeMin: sizeString.optional(),
  sizeMax: sizeString.optional(),
  minimize: z.enum(MINIMIZE).optional(),
  /** squashfs only: how mksquashfs compresses the file system (its default is gzip). */
  compression: z.enum(COMPRESSOR_NAMES, { error: `must be one of ${COMPRESSOR_NAMES.join(", ")}` }).optional(),
  compressionLevel: z.number({ error: "must be a whole number" }).int("must be a whole number").optional(),
  verity: z.enum(VERITY_ROLES, { error: `must be one of ${VERITY_ROLES.join(", ")}` }).optional(),
  verityMatchKey: patterned({ regex: /^[A-Za-z0-9_-]{1,64}$/, rule: "1 to 64 letters, digits, '_' or '-'" }, unitValueProblem).optional(),
  /** Keys the form has no field for, written as they are (e.g. Verity=, SplitName=). */
  extra: z
    .array(
      z.object({
        key: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, "must be a setting name such as SplitName (letters and digits)"),
        value: z.string().superRefine((v, ctx) => {
          const p = unitValueProblem(v);
          if (p) ctx.addIssue({ code: "custom", message: p });
        }),
      }),
    )
    .default([]),
});
export type Partition = z.infer<typeof partitionSchema>;

// --- Overlay scheme -------------------------------------------------------------------

const mountPoint = z
  .string()
  .regex(/^(\/[a-z0-9][a-z0-9._-]*)+$/, "must be an absolute path of lowercase letters, digits, '.', '_' and '-', e.g. /var/lib/data")
  .refine((p) => !/^\/(usr|boot|efi|proc|sys|dev|run|etc)(\/|$)/.test(p), "must not be under /usr, /boot, /efi, /etc or an API file system")
  .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), "must not contain '.' or '..' segments");

/** File systems a persistent data partition can have (writable ones). */
export const PERSISTENT_FORMATS = ["ext4", "btrfs", "xfs"] as const;

export const overlaySchema = z.discriminatedUnion("scheme", [
  /** The root is mounted read-only and nothing is writable but what the image sets up. */
  z.object({ scheme: z.literal("readonly") }),
  /** systemd.volatile=overlay: a tmpfs over the root, writable for the session only. */
  z.object({ scheme: z.literal("tmpfs") }),
  /** A writable partition, mounted at a path of the user's choice, that survives reboots. */
  z.object({
    scheme: z.literal("persistent"),
    mountPoint,
    label: z.string().regex(/^[A-Za-z0-9_-]{1,36}$/, "must be 1 to 36 letters, digits, '_' or '-'"),
    format: z.enum(PERSISTENT_FORMATS),
    size: sizeString,
  }),
]);
export type Overlay = z.infer<typeof overlaySchema>;
export const OVERLAY_SCHEMES = ["readonly", "tmpfs", "persistent"] as const;

// --- Files ------------------------------------------------------------------------------

/** A relative path that stays inside its folder: no absolute paths, no '..', no odd characters. */
export function relativePathProblem(p: string): string | undefined {
  if (p.length === 0) return "must not be empty";
  if (p.length > 255) return "must be at most 255 characters";
  if (p.startsWith("/")) return "must be relative (no leading '/')";
  // A backslash only as systemd's \xNN escape in unit names (var-lib-my\x2ddata.mount).
  if (CONTROL.test(p) || /\\(?!x[0-9a-f]{2})/.test(p)) return "must not contain control characters or '\\' (other than \\xNN escapes)";
  const parts = p.split("/");
  if (parts.some((s) => s === ".." )) return "must not contain '..' (it would leave the project folder)";
  if (parts.some((s) => s === "" || s === ".")) return "must not contain empty or '.' segments";
  if (!/^[A-Za-z0-9._@+=,:~\\-]+(\/[A-Za-z0-9._@+=,:~\\-]+)*$/.test(p)) return "may only use letters, digits and . _ @ + = , : ~ -";
  return undefined;
}

const relativePath = z.string().superRefine((v, ctx) => {
  const p = relativePathProblem(v);
  if (p) ctx.addIssue({ code: "custom", message: p });
});

/** Folders whose content is copied into the image: only there may an imported link stay a link. */
export const IMAGE_TREES = ["mkosi.extra/", "mkosi.skeleton/"] as const;

/** Trees mkosi hands to the package manager: their files are the package manager's, not mkosi's. */
const SANDBOX_TREES = ["mkosi.pkgmngr/", "mkosi.sandbox/"] as const;

/**
 * Files mkosi reads secrets from (docs/mkosi-notes.md, "Secret files"), by name in any folder
 * mkosi reads a config from: it refuses
 * mkosi.rootpw, mkosi.key and mkosi.passphrase when others may read them, and every file in
 * mkosi.credentials/ is a credential's value (often a password).
 */
export const SECRET_FILE_NAMES = ["mkosi.rootpw", "mkosi.key", "mkosi.passphrase"] as const;
export const CREDENTIALS_FOLDER = "mkosi.credentials";

/** Whether mkosi reads this project file as a secret (never a file of an image or sandbox tree). */
export function isSecretPath(path: string): boolean {
  if ([...IMAGE_TREES, ...SANDBOX_TREES].some((t) => path.startsWith(t) || path.includes(`/${t}`))) return false;
  const parts = path.split("/");
  const name = parts[parts.length - 1]!;
  return (SECRET_FILE_NAMES as readonly string[]).includes(name) || parts.slice(0, -1).includes(CREDENTIALS_FOLDER);
}

/** The mode a secret file is written with: its owner's bits only (mkosi refuses one others can read). */
export const secretMode = (mode: number): number => mode & 0o700;

export const FILE_MODES = ["0644", "0755", "0600"] as const;

/** The largest extra file the form edits, in UTF-8 bytes; a larger one stays a raw file. */
export const MAX_EXTRA_FILE_BYTES = 256 * 1024;
export const MAX_EXTRA_FILE_LABEL = `${MAX_EXTRA_FILE_BYTES / 1024} KiB`;

/** A small text file the user edits in the browser, placed into the image by mkosi.extra/. */
export const extraFileSchema = z.object({
  path: relativePath,
  content: z.string().refine((v) => new TextEncoder().encode(v).length <= MAX_EXTRA_FILE_BYTES, `must be at most ${MAX_EXTRA_FILE_LABEL}`),
  mode: z.enum(FILE_MODES).default("0644"),
});
export type ExtraFile = z.infer<typeof extraFileSchema>;

/**
 * Imported files kept as written, in bytes as written to disk: each, and all of a profile's
 * together. The whole document lives in one database row and travels to the editor on every
 * load and save, so it stays far below what an upload may unpack.
 */
export const RAW_FILE_LIMITS = { fileBytes: 16 * 1024 * 1024, totalBytes: 32 * 1024 * 1024 } as const;

/** UTF-8 length of a string, without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The bytes a raw file takes on disk (a link: its target). */
export function rawFileBytes(f: { encoding: "utf8" | "base64" | "symlink"; content: string }): number {
  if (f.encoding !== "base64") return utf8Length(f.content);
  const pad = f.content.endsWith("==") ? 2 : f.content.endsWith("=") ? 1 : 0;
  return Math.floor((f.content.length * 3) / 4) - pad;
}

/**
 * Imported content the model does not know, written back byte for byte on export. A symlink
 * (encoding "symlink", content = its target) is only kept inside an image tree, where it is
 * image content rather than a pointer on this host.
 */
export const rawFileSchema = z.object({
  path: relativePath,
  encoding: z.enum(["utf8", "base64", "symlink"]),
  content: z.string(),
  mode: z.number().int().min(0).max(0o7777),
  /** Why it is kept raw, shown in the UI. */
  reason: z.string().max(200),
}).superRefine((f, ctx) => {
  const bytes = rawFileBytes(f);
  if (bytes > RAW_FILE_LIMITS.fileBytes)
    ctx.addIssue({ code: "custom", path: ["content"], message: `${f.path} has ${bytes.toLocaleString("en-US")} bytes: a file kept as written must be at most ${formatBytes(RAW_FILE_LIMITS.fileBytes)}` });
});
export type RawFile = z.infer<typeof rawFileSchema>;

const rawFilesSchema = z.array(rawFileSchema).superRefine((files, ctx) => {
  const total = files.reduce((n, f) => n + rawFileBytes(f), 0);
  if (total > RAW_FILE_LIMITS.totalBytes)
    ctx.addIssue({
      code: "custom",
      message: `the files kept as written hold ${formatBytes(total)} (${total.toLocaleString("en-US")} bytes) together: at most ${formatBytes(RAW_FILE_LIMITS.totalBytes)} fit in a profile (leave large files such as local packages out of the project)`,
    });
});

/** A setting of mkosi.conf that the model does not know, kept in place on export. */
export const rawSettingSchema = z.object({
  section: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, "must be a section name"),
  key: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, "must be a setting name"),
  /** As mkosi reads it: continuation lines joined with '\n'. */
  value: z.string().superRefine((v, ctx) => {
    for (const line of v.split("\n")) {
      const p = line === "" ? undefined : mkosiValueProblem(line);
      if (p) ctx.addIssue({ code: "custom", message: p });
    }
  }),
});
export type RawSetting = z.infer<typeof rawSettingSchema>;

// --- The profile ------------------------------------------------------------------------

/** A key store id: what a profile names its signing key by (also the key's folder name). */
export const KEY_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const keyIdSchema = z.string().regex(KEY_ID, "must be a key id: lowercase letters, digits and '-', at most 63");

export const profileDocumentSchema = z.object({
  settings: settingsSchema,
  /** Apt sources written in place of mkosi's own list; empty keeps mkosi's list. */
  repositories: z.array(repositorySchema).default([]),
  /** systemd-repart definitions in order; empty keeps mkosi's default layout. */
  partitions: z.array(partitionSchema).default([]),
  overlay: overlaySchema.default({ scheme: "readonly" }),
  extraFiles: z.array(extraFileSchema).default([]),
  rawSettings: z.array(rawSettingSchema).default([]),
  rawFiles: rawFilesSchema.default([]),
  /**
   * The key store's key pair that signs this image (Secure Boot, the verity signature, the
   * PCR policy): its id. The key itself never enters the document, the project or a snapshot.
   */
  signingKey: keyIdSchema.optional(),
});
export type ProfileDocument = z.infer<typeof profileDocumentSchema>;
export type ProfileDocumentInput = z.input<typeof profileDocumentSchema>;

export const PROFILE_NAME_MAX = 80;

export const profileNameSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(PROFILE_NAME_MAX, `must be at most ${PROFILE_NAME_MAX} characters`)
  .refine((v) => !CONTROL.test(v), "must not contain line breaks or control characters");

export function emptyDocument(): ProfileDocument {
  return profileDocumentSchema.parse({ settings: initialSettings() });
}
