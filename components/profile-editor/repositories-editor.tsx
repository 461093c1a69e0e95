"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FieldMessages } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { reposForRelease } from "@/server/mkosi/apt-sources";
import { repositorySchema, type ProfileDocument, type Repository } from "@/server/mkosi/profile";
import { sourcesPath } from "@/server/mkosi/render";
import { removeAt, replaceAt } from "./doc-update";
import { ListEditor } from "./list-editor";
import { anchorId, toMessages, useProblems } from "./problems";

function wordCheck(field: "suites" | "components") {
  return (v: string) => {
    const r = repositorySchema.shape[field].safeParse([v]);
    return r.success ? undefined : r.error.issues[0]?.message;
  };
}

export function RepositoriesEditor({
  doc,
  setDoc,
  hostRepositories,
  mkosiMajor,
}: {
  doc: ProfileDocument;
  setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void;
  /** The build machine's own apt entries, or undefined while unknown. */
  hostRepositories: Repository[] | undefined;
  mkosiMajor: number;
}) {
  const problems = useProblems();
  const [note, setNote] = useState<string | null>(null);
  const repos = doc.repositories;
  const release = doc.settings.Release;
  const set = (next: Repository[]) => setDoc((d) => ({ ...d, repositories: next }));
  const update = (i: number, patch: Partial<Repository>) => {
    const r = repos[i];
    if (r) set(replaceAt(repos, i, { ...r, ...patch }));
  };

  const useHostMirror = () => {
    if (!release) return setNote("Set Release first: the machine's entries are picked by release.");
    if (!hostRepositories) return setNote("This machine's apt sources are not known yet.");
    const picked = reposForRelease(hostRepositories, release);
    if (picked.length === 0) return setNote(`This machine's apt sources have no entries for '${release}'.`);
    set(picked);
    setNote(`Filled ${picked.length} entr${picked.length === 1 ? "y" : "ies"} from this machine's apt sources for '${release}'.`);
  };

  return (
    <div id={anchorId("repositories")} className="scroll-mt-24 space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h3 className="text-xs font-medium text-slate-700">Apt repositories</h3>
          <p className="text-xs text-slate-500">
            {repos.length === 0 ? (
              <>Empty: mkosi uses its own repository list (from Mirror and Repositories above).</>
            ) : (
              <>
                Written to <code className="font-mono">{sourcesPath(mkosiMajor)}</code>, replacing mkosi&apos;s own list.
              </>
            )}
          </p>
        </div>
        <div className="flex gap-1.5">
          <Button size="sm" onClick={useHostMirror} data-testid="use-host-mirror">
            Use this machine&apos;s mirror
          </Button>
          <Button
            size="sm"
            onClick={() => set([...repos, { uri: "", suites: release ? [release] : [], components: ["main"] }])}
            data-testid="add-repository"
          >
            Add entry
          </Button>
        </div>
      </div>
      {note ? (
        <p role="status" className="text-xs text-slate-600">
          {note}
        </p>
      ) : null}
      <FieldMessages messages={toMessages(problems.at("repositories"))} />
      {repos.map((r, i) => {
        const at = (f: string) => problems.at(`repositories.${i}.${f}`);
        const prefix = `repo-${i}`;
        return (
          <div key={i} id={anchorId(`repositories.${i}`)} className="scroll-mt-24 rounded-md border border-slate-200 bg-slate-50/60 p-2.5" data-testid="repository">
            <div className="mb-2 flex items-center justify-between">
              <span className="text-xs font-medium text-slate-500">Entry {i + 1}</span>
              <Button size="sm" variant="ghost" onClick={() => set(removeAt(repos, i))} aria-label={`Remove repository entry ${i + 1}`}>
                Remove
              </Button>
            </div>
            <div className="grid grid-cols-1 gap-x-3 gap-y-2 md:grid-cols-2">
              <Field label="URI" htmlFor={`${prefix}-uri`} messages={toMessages(at("uri"))} className="md:col-span-2" anchor={anchorId(`repositories.${i}.uri`)}>
                <Input
                  id={`${prefix}-uri`}
                  value={r.uri}
                  onChange={(e) => update(i, { uri: e.target.value })}
                  invalid={at("uri").length > 0}
                  placeholder="http://…/debian"
                  className="font-mono text-xs"
                  spellCheck={false}
                />
              </Field>
              <Field label="Suites" htmlFor={`${prefix}-suites`} anchor={anchorId(`repositories.${i}.suites`)}>
                <ListEditor id={`${prefix}-suites`} items={r.suites} onChange={(v) => update(i, { suites: v })} problems={at("suites")} indexDepth={3} checkItem={wordCheck("suites")} placeholder="e.g. bookworm bookworm-updates" />
              </Field>
              <Field label="Components" htmlFor={`${prefix}-components`} anchor={anchorId(`repositories.${i}.components`)}>
                <ListEditor id={`${prefix}-components`} items={r.components} onChange={(v) => update(i, { components: v })} problems={at("components")} indexDepth={3} checkItem={wordCheck("components")} placeholder="e.g. main" />
              </Field>
              <Field
                label="Signed-By"
                htmlFor={`${prefix}-signed-by`}
                help="Keyring file inside the build sandbox; empty uses the distribution's keyring."
                messages={toMessages(at("signedBy"))}
                className="md:col-span-2"
                anchor={anchorId(`repositories.${i}.signedBy`)}
              >
                <Input
                  id={`${prefix}-signed-by`}
                  value={r.signedBy ?? ""}
                  onChange={(e) => {
                    const { signedBy: _, ...rest } = r;
                    set(replaceAt(repos, i, e.target.value ? { ...rest, signedBy: e.target.value } : rest));
                  }}
                  invalid={at("signedBy").length > 0}
                  placeholder="/usr/share/keyrings/debian-archive-keyring.gpg"
                  className="font-mono text-xs"
                  spellCheck={false}
                />
              </Field>
            </div>
            <FieldMessages messages={toMessages(problems.at(`repositories.${i}`))} />
          </div>
        );
      })}
    </div>
  );
}
