"use client";
// The editor's state: the document being edited, the last saved revision it started from,
// saving with optimistic locking (a conflict keeps the user's edits), rename and validation with mkosi.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC, useTRPCClient } from "@/components/trpc/client";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { validateDocument } from "@/server/mkosi/validate";
import { sameJson } from "./doc-update";
import type { ShownProblem } from "./problems";

interface Saved {
  revision: number;
  document: ProfileDocument;
  name: string;
  updatedAt: string;
}

export interface Conflict {
  message: string;
  currentRevision: number;
  updatedAt: string | undefined;
}

export interface CheckOutcome {
  ok: boolean;
  mkosiVersion: string | null;
  problems: ShownProblem[];
  durationMs: number | undefined;
  /** Files mkosi would run while reading the project, which the validation left unrun. */
  notRun: string[];
  /** The document that was checked: edits since make the result stale. */
  document: ProfileDocument;
}

export type SaveStatus = "clean" | "dirty" | "saving";

export function useProfileEditor(id: number) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  // The editor owns the document once loaded; background refetches must not replace edits.
  const query = useQuery({ ...trpc.profiles.get.queryOptions({ id }), staleTime: Infinity, refetchOnWindowFocus: false });

  const [saved, setSaved] = useState<Saved | null>(null);
  const [doc, setDocState] = useState<ProfileDocument | null>(null);
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [serverProblems, setServerProblems] = useState<ShownProblem[]>([]);
  const [renameError, setRenameError] = useState<string | null>(null);
  const [check, setCheck] = useState<CheckOutcome | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  // Bumped when Save refuses an invalid document, so the page can reveal the problems.
  const [revealProblems, setRevealProblems] = useState(0);

  if (query.data && saved === null) {
    const row = query.data;
    setSaved({ revision: row.revision, document: row.document, name: row.name, updatedAt: row.updatedAt });
    setDocState(row.document);
  }

  const setDoc = useCallback((update: (d: ProfileDocument) => ProfileDocument) => {
    setDocState((d) => (d ? update(d) : d));
    // Server verdicts were about the document as sent; the live check covers edits.
    setServerProblems([]);
    setSaveError(null);
  }, []);

  const dirty = useMemo(() => doc !== null && saved !== null && !sameJson(doc, saved.document), [doc, saved]);

  const acceptRow = useCallback(
    (row: { revision: number; name: string; updatedAt: string; document: ProfileDocument }, document: ProfileDocument) => {
      setSaved({ revision: row.revision, document, name: row.name, updatedAt: row.updatedAt });
      queryClient.setQueryData(trpc.profiles.get.queryKey({ id }), (old) => (old ? { ...old, ...row, document } : old));
      void queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() });
    },
    [id, queryClient, trpc],
  );

  const save = useCallback(
    async (revisionOverride?: number) => {
      if (!doc || !saved || saving) return;
      const live = validateDocument(doc);
      if (!live.ok) {
        setSaveError(`Not saved: ${live.problems.length} problem${live.problems.length === 1 ? "" : "s"} to fix first (marked at the fields).`);
        setRevealProblems((n) => n + 1);
        return;
      }
      const sent = doc;
      setSaving(true);
      setSaveError(null);
      try {
        const row = await client.profiles.save.mutate({ id, revision: revisionOverride ?? saved.revision, document: sent });
        acceptRow(row, sent);
        setConflict(null);
        setServerProblems([]);
      } catch (e) {
        const err = apiError(e);
        if (err.code === "CONFLICT") {
          const current = Number(err.details?.currentRevision);
          setConflict({
            message: err.message,
            currentRevision: current,
            updatedAt: typeof err.details?.updatedAt === "string" ? err.details.updatedAt : undefined,
          });
        } else {
          setSaveError(`Not saved: ${err.message}`);
          setServerProblems(err.problems.map((p) => ({ ...p, source: "server", severity: "error" })));
          if (err.problems.length) setRevealProblems((n) => n + 1);
        }
      } finally {
        setSaving(false);
      }
    },
    [acceptRow, client, doc, id, saved, saving],
  );

  const overwrite = useCallback(() => {
    if (conflict) void save(conflict.currentRevision);
  }, [conflict, save]);

  const loadTheirs = useCallback(async () => {
    try {
      const row = await queryClient.fetchQuery({ ...trpc.profiles.get.queryOptions({ id }), staleTime: 0 });
      setSaved({ revision: row.revision, document: row.document, name: row.name, updatedAt: row.updatedAt });
      setDocState(row.document);
      setConflict(null);
      setServerProblems([]);
      setSaveError(null);
    } catch (e) {
      setSaveError(`Could not load the saved version: ${apiError(e).message}`);
    }
  }, [id, queryClient, trpc]);

  const rename = useCallback(
    async (name: string) => {
      if (!saved || name === saved.name) {
        setRenameError(null);
        return true;
      }
      try {
        const row = await client.profiles.rename.mutate({ id, name });
        setSaved((s) => (s ? { ...s, name: row.name } : s));
        queryClient.setQueryData(trpc.profiles.get.queryKey({ id }), (old) => (old ? { ...old, name: row.name } : old));
        void queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() });
        setRenameError(null);
        return true;
      } catch (e) {
        const err = apiError(e);
        setRenameError(err.problems.find((p) => p.path[0] === "name")?.message ?? err.message);
        return false;
      }
    },
    [client, id, queryClient, saved, trpc],
  );

  const runCheck = useCallback(async () => {
    if (!doc) return;
    const live = validateDocument(doc);
    if (!live.ok) {
      setCheckError(`mkosi was not asked: fix the ${live.problems.length} problem${live.problems.length === 1 ? "" : "s"} marked in the form first.`);
      setRevealProblems((n) => n + 1);
      return;
    }
    const sent = doc;
    setChecking(true);
    setCheckError(null);
    try {
      const r = await client.profiles.validate.mutate({ document: sent });
      setCheck({
        ok: r.ok,
        mkosiVersion: r.mkosiVersion,
        durationMs: r.durationMs,
        notRun: r.notRun,
        document: sent,
        problems: r.problems.map((p) => ({ path: p.path, message: p.message, source: "mkosi", severity: p.severity })),
      });
    } catch (e) {
      setCheckError(apiError(e).message);
    } finally {
      setChecking(false);
    }
  }, [client, doc]);

  // Ctrl+S / Cmd+S saves from anywhere on the page.
  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "s") {
        e.preventDefault();
        void saveRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // Leaving with unsaved edits asks first.
  useEffect(() => {
    if (!dirty) return;
    const onLeave = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onLeave);
    return () => window.removeEventListener("beforeunload", onLeave);
  }, [dirty]);

  const status: SaveStatus = saving ? "saving" : dirty ? "dirty" : "clean";

  return {
    query,
    doc,
    setDoc,
    saved,
    status,
    dirty,
    save,
    conflict,
    overwrite,
    loadTheirs,
    saveError,
    serverProblems,
    rename,
    renameError,
    check,
    checkError,
    checking,
    runCheck,
    revealProblems,
  };
}

export type ProfileEditorState = ReturnType<typeof useProfileEditor>;
