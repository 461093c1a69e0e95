"use client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Field, FieldMessages } from "@/components/ui/field";
import { Input, Select, Textarea } from "@/components/ui/input";
import { FILE_MODES, type ExtraFile, type ProfileDocument } from "@/server/mkosi/profile";
import { removeAt, replaceAt } from "./doc-update";
import { anchorId, toMessages, useProblems } from "./problems";

function freshPath(files: readonly ExtraFile[]): string {
  for (let n = 1; ; n++) {
    const p = `etc/new-file-${n}`;
    if (!files.some((f) => f.path === p)) return p;
  }
}

export function ExtraFilesEditor({ doc, setDoc }: { doc: ProfileDocument; setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void }) {
  const problems = useProblems();
  const files = doc.extraFiles;
  const set = (next: ExtraFile[]) => setDoc((d) => ({ ...d, extraFiles: next }));

  return (
    <div className="space-y-2" id={anchorId("extraFiles")}>
      <FieldMessages messages={toMessages(problems.at("extraFiles"))} />
      {files.length === 0 ? <p className="text-xs text-slate-500">No extra files.</p> : null}
      {files.map((f, i) => {
        const at = (k: string) => problems.at(`extraFiles.${i}.${k}`);
        const id = (k: string) => `extra-${i}-${k}`;
        return (
          <div key={i} id={anchorId(`extraFiles.${i}`)} className="scroll-mt-24 rounded-md border border-slate-200 p-2.5" data-testid="extra-file">
            <div className="grid grid-cols-[minmax(0,1fr)_7rem_auto] items-start gap-2">
              <Field label="Path in the image" htmlFor={id("path")} messages={toMessages(at("path"))} anchor={anchorId(`extraFiles.${i}.path`)}>
                <div className="flex">
                  <span className="inline-flex h-8 items-center rounded-l-md border border-r-0 border-slate-300 bg-slate-50 px-2 font-mono text-xs text-slate-500">
                    mkosi.extra/
                  </span>
                  <Input
                    id={id("path")}
                    value={f.path}
                    onChange={(e) => set(replaceAt(files, i, { ...f, path: e.target.value }))}
                    invalid={at("path").length > 0}
                    className="rounded-l-none font-mono text-xs"
                    spellCheck={false}
                  />
                </div>
              </Field>
              <Field label="Mode" htmlFor={id("mode")} messages={toMessages(at("mode"))} anchor={anchorId(`extraFiles.${i}.mode`)}>
                <Select id={id("mode")} value={f.mode} onChange={(e) => set(replaceAt(files, i, { ...f, mode: e.target.value as ExtraFile["mode"] }))}>
                  {FILE_MODES.map((m) => (
                    <option key={m} value={m}>
                      {m}
                    </option>
                  ))}
                </Select>
              </Field>
              <Button size="sm" variant="ghost" className="mt-5 hover:text-red-700" onClick={() => set(removeAt(files, i))} aria-label={`Remove extra file ${f.path || i + 1}`}>
                Remove
              </Button>
            </div>
            <Field label="Content" htmlFor={id("content")} messages={toMessages(at("content"))} className="mt-2" anchor={anchorId(`extraFiles.${i}.content`)}>
              <Textarea
                id={id("content")}
                value={f.content}
                onChange={(e) => set(replaceAt(files, i, { ...f, content: e.target.value }))}
                invalid={at("content").length > 0}
                rows={Math.min(16, Math.max(4, f.content.split("\n").length + 1))}
                spellCheck={false}
                className={cn("font-mono text-xs leading-5 whitespace-pre")}
                wrap="off"
              />
            </Field>
            <FieldMessages messages={toMessages(problems.at(`extraFiles.${i}`))} />
          </div>
        );
      })}
      <Button size="sm" onClick={() => set([...files, { path: freshPath(files), content: "", mode: FILE_MODES[0] }])} data-testid="add-extra-file">
        Add file
      </Button>
    </div>
  );
}
