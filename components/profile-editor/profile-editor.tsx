"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useDeferredValue, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { FilePreview } from "@/components/file-preview/file-preview";
import { PackageScopeProvider } from "@/components/packages/scope";
import { useTRPC } from "@/components/trpc/client";
import { Section } from "@/components/ui/section";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { DEFAULT_MKOSI_MAJOR, render, type RenderedFile } from "@/server/mkosi/render";
import { rootScriptsOf, scriptLabel } from "@/server/mkosi/scripts";
import { SETTINGS, type SettingDef } from "@/server/mkosi/settings";
import { validateDocument } from "@/server/mkosi/validate";
import { keyFilesOf } from "@/server/mkosi/verity";
import { sameJson } from "./doc-update";
import { CheckPanel } from "./check-panel";
import { ConflictBanner } from "./conflict-banner";
import { EditorTopBar } from "./editor-top-bar";
import { ExtraFilesEditor } from "./extra-files-editor";
import { OverlayEditor } from "./overlay-editor";
import { PartitionsEditor } from "./partitions-editor";
import { placeProblems, ProblemsContext, type ShownProblem } from "./problems";
import { ProblemsPanel } from "./problems-panel";
import { RawContent } from "./raw-content";
import { RepositoriesEditor } from "./repositories-editor";
import { VerifiedBootEditor } from "./verified-boot-editor";
import { GROUP_TITLES, SETTING_GROUPS, SettingsGroup, type SettingGroup } from "./settings-group";
import { useProfileEditor, type ProfileEditorState } from "./use-profile-editor";

export function ProfileEditor({ id }: { id: number }) {
  const editor = useProfileEditor(id);
  if (editor.query.isError)
    return (
      <div className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800" role="alert">
        <p>Could not open profile {id}: {editor.query.error.message}</p>
        <Link href="/" className="mt-2 inline-block underline">
          Back to profiles
        </Link>
      </div>
    );
  if (!editor.doc || !editor.saved) return <p className="text-sm text-slate-500">Loading profile…</p>;
  return <LoadedEditor id={id} editor={editor} doc={editor.doc} saved={editor.saved} />;
}

const dedupeKey = (p: ShownProblem) => `${JSON.stringify(p.path)}|${p.message}`;

function LoadedEditor({
  id,
  editor,
  doc,
  saved,
}: {
  id: number;
  editor: ProfileEditorState;
  doc: ProfileDocument;
  saved: NonNullable<ProfileEditorState["saved"]>;
}) {
  const trpc = useTRPC();
  const facts = useQuery({ ...trpc.host.facts.queryOptions(), staleTime: 5 * 60_000 });
  const mkosiMajor = facts.data?.mkosi?.major ?? DEFAULT_MKOSI_MAJOR;
  const mkosiSource = facts.data?.mkosi ? `this machine has ${facts.data.mkosi.version}` : facts.isPending ? "checking this machine…" : "default: no mkosi on this machine";

  // Typing stays responsive: validation and rendering follow a step behind on big edits.
  const deferred = useDeferredValue(doc);
  const live = useMemo(() => validateDocument(deferred), [deferred]);
  const rendered = useMemo((): { files: RenderedFile[]; error: string | null } => {
    try {
      return { files: render(deferred, { mkosiMajor }), error: null };
    } catch (e) {
      return { files: [], error: `The preview could not be rendered: ${e instanceof Error ? e.message : String(e)}` };
    }
  }, [deferred, mkosiMajor]);

  const scripts = useMemo(() => rootScriptsOf(rendered.files).map(scriptLabel), [rendered]);

  const checkStale = editor.check ? !sameJson(editor.check.document, doc) : false;
  const liveProblems: ShownProblem[] = useMemo(() => live.problems.map((p) => ({ ...p, source: "live", severity: "error" })), [live]);
  const allProblems = useMemo(() => {
    const seen = new Set(liveProblems.map(dedupeKey));
    const extra = [...editor.serverProblems, ...(editor.check && !checkStale ? editor.check.problems : [])].filter((p) => {
      const k = dedupeKey(p);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return [...liveProblems, ...extra];
  }, [liveProblems, editor.serverProblems, editor.check, checkStale]);
  const placed = useMemo(() => placeProblems(allProblems, doc), [allProblems, doc]);
  const errorCount = allProblems.filter((p) => p.severity === "error").length;

  const [showAll, setShowAll] = useState(false);
  const [checkOpen, setCheckOpen] = useState(true);
  const topRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (editor.revealProblems === 0) return;
    setShowAll(true);
    topRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
  }, [editor.revealProblems]);
  useEffect(() => {
    if (editor.check) setCheckOpen(true);
  }, [editor.check]);

  const defs = SETTINGS as readonly SettingDef[];
  const secretKeys = defs.filter((d) => d.secret && (doc.settings as Record<string, unknown>)[d.key] !== undefined).map((d) => d.key);
  const hasRaw = doc.rawSettings.length > 0 || doc.rawFiles.length > 0;

  const common = { doc, setDoc: editor.setDoc };
  // Editors that belong with a group of settings, placed after it.
  const within: Partial<Record<SettingGroup, ReactNode>> = {
    distribution: <RepositoriesEditor {...common} hostRepositories={facts.data?.aptRepositories} mkosiMajor={mkosiMajor} />,
    "verified-boot": <VerifiedBootEditor {...common} />,
  };
  const after: Partial<Record<SettingGroup, { id: string; title: string; description: string; body: ReactNode }[]>> = {
    boot: [
      {
        id: "section-partitions",
        title: "Partition layout",
        description: "systemd-repart definitions, in disk order. Click a block to jump to its definition.",
        body: <PartitionsEditor {...common} />,
      },
      { id: "section-overlay", title: "Overlay scheme", description: "What is writable on the running system.", body: <OverlayEditor {...common} /> },
    ],
  };
  const sections = SETTING_GROUPS.flatMap((g) => [
    {
      id: `section-${g}`,
      title: GROUP_TITLES[g].title,
      description: GROUP_TITLES[g].description,
      body: (
        <div className="space-y-4">
          <SettingsGroup group={g} doc={doc} setDoc={editor.setDoc} mkosiMajor={mkosiMajor} />
          {within[g] ? <div className="border-t border-slate-100 pt-3">{within[g]}</div> : null}
        </div>
      ),
    },
    ...(after[g] ?? []),
  ]);
  sections.push({
    id: "section-extra-files",
    title: "Extra files",
    description: "Small text files copied into the image through mkosi.extra/.",
    body: <ExtraFilesEditor {...common} />,
  });
  if (hasRaw)
    sections.push({
      id: "section-raw",
      title: "Imported content kept as is",
      description: "Settings and files from the import that the form does not model.",
      body: <RawContent {...common} />,
    });

  return (
    <ProblemsContext.Provider value={placed}>
      <PackageScopeProvider doc={doc}>
      <div ref={topRef} className="-mt-6 scroll-mt-0 space-y-3">
        <EditorTopBar
          id={id}
          name={saved.name}
          onRename={editor.rename}
          renameError={editor.renameError}
          status={editor.status}
          savedAt={saved.updatedAt}
          revision={saved.revision}
          problemCount={errorCount}
          problemsShown={showAll}
          onToggleProblems={() => setShowAll((s) => !s)}
          onSave={() => void editor.save()}
          onCheck={() => void editor.runCheck()}
          checking={editor.checking}
          rootScripts={scripts}
        >
          {editor.conflict ? (
            <ConflictBanner conflict={editor.conflict} onOverwrite={editor.overwrite} onLoadTheirs={() => void editor.loadTheirs()} busy={editor.status === "saving"} />
          ) : null}
          {editor.saveError ? (
            <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800" data-testid="save-error">
              {editor.saveError}
            </p>
          ) : null}
        </EditorTopBar>

        {editor.checkError ? (
          <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800" data-testid="check-error">
            {editor.checkError}
          </p>
        ) : null}
        {editor.check && checkOpen ? <CheckPanel check={editor.check} stale={checkStale} doc={doc} onClose={() => setCheckOpen(false)} /> : null}
        {showAll ? (
          <ProblemsPanel problems={allProblems} doc={doc} title={allProblems.length ? `All problems (${allProblems.length}) — click one to go to its field` : ""} />
        ) : (
          <ProblemsPanel problems={placed.general} doc={doc} title="Problems not tied to a field" />
        )}

        <div className="grid gap-4 xl:grid-cols-[minmax(0,7fr)_minmax(0,5fr)]">
          <div className="min-w-0 space-y-3" data-testid="profile-form">
            <nav aria-label="Form sections" className="flex flex-wrap gap-x-3 gap-y-1 text-xs">
              {sections.map((s) => (
                <a key={s.id} href={`#${s.id}`} className="text-slate-500 hover:text-slate-900 hover:underline">
                  {s.title}
                </a>
              ))}
            </nav>
            {sections.map((s) => (
              <Section key={s.id} id={s.id} title={s.title} description={s.description}>
                {s.body}
              </Section>
            ))}
          </div>
          <aside className="h-[75vh] min-w-0 xl:sticky xl:top-16 xl:h-[calc(100vh-5rem)]" aria-label="Preview of the generated files">
            <FilePreview files={rendered.files} keyFiles={keyFilesOf(deferred, mkosiMajor)} signingKey={deferred.signingKey} mkosiMajor={mkosiMajor} mkosiSource={mkosiSource} secretKeys={secretKeys} error={rendered.error} />
          </aside>
        </div>
      </div>
      </PackageScopeProvider>
    </ProblemsContext.Provider>
  );
}
