"use client";
// Which profile the package components ask about: the editor's document as it is now (unsaved
// edits included), cut down to what decides the index (its sources) and, for pull-in, Packages.
import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { ProfileDocument } from "@/server/mkosi/profile";

export interface PackageScope {
  /** The sources only: searches and the index status do not change as packages are added. */
  sources: { document: ProfileDocument };
  /** The sources and the packages: what pull-in resolves against. */
  withPackages: { document: ProfileDocument };
}

function cut(doc: ProfileDocument, packages: boolean): ProfileDocument {
  const s = doc.settings;
  return {
    settings: {
      Distribution: s.Distribution,
      Release: s.Release,
      Architecture: s.Architecture,
      Mirror: s.Mirror,
      Repositories: s.Repositories,
      ...(packages ? { Packages: s.Packages } : {}),
    },
    repositories: doc.repositories,
    partitions: [],
    overlay: { scheme: "readonly" },
    extraFiles: [],
    rawSettings: [],
    rawFiles: [],
  };
}

const Context = createContext<PackageScope | null>(null);

export function PackageScopeProvider({ doc, children }: { doc: ProfileDocument; children: ReactNode }) {
  // Keyed by their JSON, so an unrelated edit (a hostname) keeps the same objects and queries.
  const sourcesJson = JSON.stringify(cut(doc, false));
  const packagesJson = JSON.stringify(cut(doc, true));
  const value = useMemo(
    () => ({ sources: { document: JSON.parse(sourcesJson) as ProfileDocument }, withPackages: { document: JSON.parse(packagesJson) as ProfileDocument } }),
    [sourcesJson, packagesJson],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

/** The scope, or null outside a profile editor (the field then stays a plain list). */
export const usePackageScope = () => useContext(Context);
