"use client";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { FieldMessages } from "@/components/ui/field";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import { isSecretPath, type ProfileDocument, type RawFile } from "@/server/mkosi/profile";
import { formatBytes } from "@/server/mkosi/size";
import { removeAt } from "./doc-update";
import { anchorId, toMessages, useProblems } from "./problems";

function rawSize(f: RawFile): string {
  if (f.encoding === "symlink") return "link";
  const bytes = f.encoding === "base64" ? Math.floor((f.content.replace(/=+$/, "").length * 3) / 4) : new TextEncoder().encode(f.content).length;
  return formatBytes(bytes);
}

/** Imported content the model does not know: shown, removable, never edited (it is written back byte for byte). */
export function RawContent({ doc, setDoc }: { doc: ProfileDocument; setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void }) {
  const problems = useProblems();
  const [open, setOpen] = useState<string | null>(null);
  const { rawSettings, rawFiles } = doc;

  return (
    <div className="space-y-4">
      <p className="rounded-md bg-amber-50 px-3 py-2 text-xs text-amber-900 ring-1 ring-amber-200 ring-inset">
        Kept as is from the import, written back unchanged on export. The form does not edit these; remove an entry to drop it.
      </p>

      <div id={anchorId("rawSettings")} className="scroll-mt-24">
        <h3 className="mb-1 text-xs font-medium text-slate-700">Settings in mkosi.conf ({rawSettings.length})</h3>
        <FieldMessages messages={toMessages(problems.at("rawSettings"))} />
        {rawSettings.length === 0 ? (
          <p className="text-xs text-slate-500">None.</p>
        ) : (
          <Table size="xs">
            <TableHead>
              <Th>Section</Th>
              <Th>Key</Th>
              <Th>Value</Th>
              <Th label="Remove" />
            </TableHead>
            <TableBody>
              {rawSettings.map((s, i) => (
                <tr key={i} id={anchorId(`rawSettings.${i}`)} className="align-top" data-testid="raw-setting">
                  <Td className="font-mono text-slate-500">[{s.section}]</Td>
                  <Td className="font-mono font-medium text-slate-800">{s.key}</Td>
                  <Td>
                    <pre className="font-mono whitespace-pre-wrap text-slate-700">{s.value}</pre>
                    <FieldMessages messages={toMessages(problems.at(`rawSettings.${i}`))} />
                  </Td>
                  <Td align="right">
                    <Button size="sm" variant="ghost" className="hover:text-red-700" onClick={() => setDoc((d) => ({ ...d, rawSettings: removeAt(d.rawSettings, i) }))} aria-label={`Remove raw setting ${s.key}`}>
                      Remove
                    </Button>
                  </Td>
                </tr>
              ))}
            </TableBody>
          </Table>
        )}
      </div>

      <div id={anchorId("rawFiles")} className="scroll-mt-24">
        <h3 className="mb-1 text-xs font-medium text-slate-700">Files ({rawFiles.length})</h3>
        <FieldMessages messages={toMessages(problems.at("rawFiles"))} />
        {rawFiles.length === 0 ? (
          <p className="text-xs text-slate-500">None.</p>
        ) : (
          <ul className="divide-y divide-slate-100 rounded-md border border-slate-200">
            {rawFiles.map((f, i) => (
              <li key={f.path} id={anchorId(`rawFiles.${i}`)} className="px-2.5 py-1.5" data-testid="raw-file">
                <div className="flex items-center gap-2">
                  <code className="truncate font-mono text-xs font-medium text-slate-800">{f.path}</code>
                  <Badge tone={f.encoding === "utf8" ? "slate" : f.encoding === "symlink" ? "violet" : "amber"}>{f.encoding === "base64" ? "binary" : f.encoding}</Badge>
                  {f.encoding !== "symlink" && isSecretPath(f.path) ? (
                    <Badge tone="red" title="mkosi reads a secret from this file: it is written owner-only (0600) and shown only on request">
                      secret
                    </Badge>
                  ) : null}
                  <span className="text-[11px] text-slate-400">{rawSize(f)}</span>
                  <span className="text-[11px] text-slate-400">mode {f.mode.toString(8).padStart(4, "0")}</span>
                  <div className="ml-auto flex gap-1">
                    {f.encoding === "utf8" ? (
                      <Button size="sm" variant="ghost" aria-expanded={open === f.path} onClick={() => setOpen(open === f.path ? null : f.path)}>
                        {open === f.path ? "Hide" : isSecretPath(f.path) ? "Show" : "View"}
                      </Button>
                    ) : null}
                    <Button size="sm" variant="ghost" className="hover:text-red-700" onClick={() => setDoc((d) => ({ ...d, rawFiles: removeAt(d.rawFiles, i) }))} aria-label={`Remove raw file ${f.path}`}>
                      Remove
                    </Button>
                  </div>
                </div>
                <p className="text-[11px] text-slate-500">
                  {f.encoding === "symlink" ? <>→ {f.content} · </> : null}
                  {f.reason}
                </p>
                {open === f.path ? (
                  <pre className="mt-1 max-h-80 overflow-auto rounded bg-slate-900 p-2 font-mono text-[11px] leading-4 text-slate-100" aria-label={`Content of ${f.path}`}>
                    {f.content}
                  </pre>
                ) : null}
                <FieldMessages messages={toMessages(problems.at(`rawFiles.${i}`))} />
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
