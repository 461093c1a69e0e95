// The short README put into an exported project. Pure. The importer recognises it by
// regenerating it, so exporting and importing again does not pile up copies.

export interface ExportReadmeOptions {
  /** Major version of the mkosi the project was rendered for. */
  mkosiMajor: number;
}

/** File names the export tries in order for its README; a raw file of the project wins. */
export const EXPORT_README_NAMES = ["README.md", "BUILDING.md"] as const;

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
  ].join("\n");
}

/** Whether a file's text is exactly a README this module wrote. */
export function isExportReadme(text: string): boolean {
  const m = /written for mkosi (\d{1,3})\./.exec(text);
  return m !== null && text === exportReadme({ mkosiMajor: Number(m[1]) });
}
