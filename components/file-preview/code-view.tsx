"use client";
// One file's content with line numbers and INI highlighting; shared by the live preview and
// a build's snapshot viewer. A file mkosi reads a secret from is hidden until shown, as the
// form hides RootPassword.
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { isSecretPath } from "@/server/mkosi/profile";
import { formatBytes } from "@/server/mkosi/size";
import { syntaxFor, tokenizeLine, type TokenKind } from "./ini-tokens";

const TOKEN_CLASS: Record<TokenKind, string> = {
  section: "text-amber-300 font-semibold",
  key: "text-sky-300",
  punct: "text-slate-500",
  value: "text-emerald-200",
  comment: "text-slate-500 italic",
  text: "text-slate-200",
};

export interface CodeFile {
  path: string;
  content: string;
  encoding: "utf8" | "base64" | "symlink";
}

export function CodeView({ file }: { file: CodeFile }) {
  // Shown for one path at a time: choosing another file hides it again.
  const [shown, setShown] = useState<string | null>(null);
  if (file.encoding !== "symlink" && isSecretPath(file.path)) {
    const toggle = (
      <Button size="sm" variant="ghost" className="border border-slate-700 text-slate-200! hover:bg-slate-800!" aria-pressed={shown === file.path} onClick={() => setShown(shown === file.path ? null : file.path)} data-testid="secret-toggle">
        {shown === file.path ? "Hide" : "Show"}
      </Button>
    );
    if (shown !== file.path)
      return (
        <div className="flex items-center gap-3 p-3 text-xs text-slate-300" data-testid="secret-hidden">
          <span>mkosi reads a secret from this file (written owner-only, mode 0600): its content is hidden.</span>
          {toggle}
        </div>
      );
    return (
      <div>
        <div className="flex items-center gap-3 px-3 pt-2 text-[11px] text-amber-300/90">
          <span>A secret, shown in clear.</span>
          {toggle}
        </div>
        <PlainCode file={file} />
      </div>
    );
  }
  return <PlainCode file={file} />;
}

function PlainCode({ file }: { file: CodeFile }) {
  if (file.encoding === "symlink") return <p className="p-3 font-mono text-xs text-slate-300">symbolic link → {file.content}</p>;
  if (file.encoding === "base64")
    return (
      <p className="p-3 text-xs text-slate-300">
        Binary file, {formatBytes(Math.floor((file.content.replace(/=+$/, "").length * 3) / 4))}: not shown.
      </p>
    );
  const syntax = syntaxFor(file.path);
  const lines = file.content.replace(/\n$/, "").split("\n");
  return (
    <pre className="min-w-max py-2 font-mono text-xs leading-5">
      <code>
        {lines.map((line, i) => (
          // The number comes from CSS so copying the code does not copy the numbers.
          <span
            key={i}
            data-n={i + 1}
            className="block pr-4 before:mr-3 before:inline-block before:w-8 before:pr-1 before:text-right before:text-slate-600 before:select-none before:content-[attr(data-n)] hover:bg-white/5"
          >
            {tokenizeLine(line, syntax).map((t, j) => (
              <span key={j} className={TOKEN_CLASS[t.kind]}>
                {t.text}
              </span>
            ))}
            {"\n"}
          </span>
        ))}
      </code>
    </pre>
  );
}
