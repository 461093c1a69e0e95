// A build's installed packages as an SPDX 2.3 JSON document: the image as the described
// package, containing one package per installed .deb with its version and a purl. Pure: the
// caller gives the time and the document's namespace.

export interface SbomInput {
  /** The image (mkosi's ImageId, or "image"). */
  imageName: string;
  imageVersion?: string;
  /** debian or ubuntu: the purl's namespace. */
  distribution: string;
  release?: string;
  packages: readonly { name: string; version: string; architecture: string }[];
  created: Date;
  /** A URI unique to this document (urn:uuid:...). */
  namespace: string;
  /** "Tool: name-version" entries. */
  creators: string[];
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  primaryPackagePurpose?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}

export interface SpdxDocument {
  spdxVersion: "SPDX-2.3";
  dataLicense: "CC0-1.0";
  SPDXID: "SPDXRef-DOCUMENT";
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

/** purl of a Debian package: pkg:deb/<distribution>/<name>@<version>?arch=<arch>, parts percent-encoded. */
export function debPurl(distribution: string, p: { name: string; version: string; architecture: string }): string {
  return `pkg:deb/${encodeURIComponent(distribution)}/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${encodeURIComponent(p.architecture)}`;
}

/** SPDX ids allow letters, digits, '.' and '-' only. */
const idPart = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, "-");

export function spdxDocument(input: SbomInput): SpdxDocument {
  const image: SpdxPackage = {
    SPDXID: "SPDXRef-Image",
    name: input.imageName,
    ...(input.imageVersion ? { versionInfo: input.imageVersion } : {}),
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    primaryPackagePurpose: "OPERATING-SYSTEM",
  };
  const used = new Set<string>([image.SPDXID]);
  const packages = [...input.packages]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p): SpdxPackage => {
      const base = `SPDXRef-deb-${idPart(p.name)}-${idPart(p.architecture)}`;
      let id = base;
      // "libstdc++6" and "libstdc--6" would clash once escaped.
      for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
      used.add(id);
      return {
        SPDXID: id,
        name: p.name,
        versionInfo: p.version,
        downloadLocation: "NOASSERTION",
        filesAnalyzed: false,
        externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: debPurl(input.distribution, p) }],
      };
    });
  const created = input.created.toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: [input.imageName, input.imageVersion].filter(Boolean).join("-"),
    documentNamespace: input.namespace,
    creationInfo: { created, creators: input.creators },
    packages: [image, ...packages],
    relationships: [
      { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: image.SPDXID },
      ...packages.map((p) => ({ spdxElementId: image.SPDXID, relationshipType: "CONTAINS", relatedSpdxElement: p.SPDXID })),
    ],
  };
}
