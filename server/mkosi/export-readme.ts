// The short README put into an exported project. Pure. The importer recognises it by
// regenerating it, so exporting and importing again does not pile up copies.

import { KEY_FILES, keySettingsFor } from "./settings";

export interface ExportReadmeOptions {
  /** Major version of the mkosi the project was rendered for. */
  mkosiMajor: number;
  /** The project signs its image: the README names the key files an export never holds. */
  signed?: boolean;
}

/** File names the export tries in order for its README; a raw file of the project wins. */
export const EXPORT_README_NAMES = ["README.md", "BUILDING.md"] as const;

/** How to supply the key pair, which the export leaves out (a private key never leaves the key store). */
function signingSection(mkosiMajor: number): string[] {
  const reading = (file: "key" | "certificate") =>
    keySettingsFor(mkosiMajor)
      .filter((s) => s.file === file)
      .map((s) => `\`${s.key}=\``)
      .join(", ");
  return [
    "## Signing keys",
    "",
    "This image is signed (Secure Boot, the verity signature of its root, the PCR 11 policy),",
    "and the key pair is not part of this export. mkosi reads it from two files in this folder,",
    "which you supply:",
    "",
    `- \`${KEY_FILES.key}\`: the private key, PEM, mode 0600 (mkosi refuses one that others can read); read as ${reading("key")}`,
    `- \`${KEY_FILES.certificate}\`: its X.509 certificate, PEM; read as ${reading("certificate")}`,
    "",
    "Copy the pair the dashboard built with from its key store (`key.pem` and `cert.pem` in",
    "`data/keys/<key id>/`), or make a new one with `mkosi genkey` in this folder. A machine",
    "that boots the image must trust the certificate (enrol it in the firmware's Secure Boot db).",
    "",
  ];
}

export function exportReadme(opts: ExportReadmeOptions): string {
  return [
    "# Building this image",
    "",
    `This folder is a complete mkosi project, written for mkosi ${opts.mkosiMajor}. Nothing else is`,
    "needed to build it: run, in this folder,",
    "",
    "```sh",
    "sudo mkosi -f build",
    "```",
    "",
    "The image appears in this folder (in `mkosi.output/` when that folder exists).",
    "`mkosi summary` shows every setting without building anything.",
    "",
    "`-f` rebuilds when an output already exists; without it mkosi exits without building.",
    "",
    ...(opts.signed ? signingSection(opts.mkosiMajor) : []),
  ].join("\n");
}

/** Whether a file's text is exactly a README this module wrote. */
export function isExportReadme(text: string): boolean {
  const m = /written for mkosi (\d{1,3})\./.exec(text);
  return m !== null && [false, true].some((signed) => text === exportReadme({ mkosiMajor: Number(m[1]), signed }));
}
