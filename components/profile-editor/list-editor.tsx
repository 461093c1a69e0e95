"use client";
import { useState, type ClipboardEvent, type KeyboardEvent } from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { FieldMessages } from "@/components/ui/field";
import { toMessages, type ShownProblem } from "./problems";

export interface ListEditorProps {
  id: string;
  testId?: string;
  items: readonly string[];
  onChange: (items: string[]) => void;
  /** Problems of this list; an item's own problems are found by its index at `indexDepth` of the path. */
  problems: readonly ShownProblem[];
  indexDepth: number;
  /** Checks one item as the user types it, with the same rules the document validation uses. */
  checkItem?: (value: string) => string | undefined;
  placeholder?: string;
  /** Separators that split typed or pasted text into several items. */
  split?: RegExp;
  describedBy?: string;
}

/** A list as chips: type a value and press Enter (or paste several) to add, ✕ to remove. */
export function ListEditor({ id, testId, items, onChange, problems, indexDepth, checkItem, placeholder, split = /[\s,]+/, describedBy }: ListEditorProps) {
  const [text, setText] = useState("");
  const [note, setNote] = useState<string | null>(null);

  const badAt = (i: number) => problems.filter((p) => p.path?.[indexDepth] === i);
  const pieces = (raw: string) => raw.split(split).map((s) => s.trim()).filter(Boolean);

  const add = (raw: string) => {
    const values = pieces(raw);
    if (values.length === 0) return;
    const fresh = values.filter((v, i) => !items.includes(v) && values.indexOf(v) === i);
    const dupes = values.filter((v) => items.includes(v));
    setNote(dupes.length ? `${dupes.map((d) => `'${d}'`).join(", ")} ${dupes.length === 1 ? "is" : "are"} already in the list` : null);
    if (fresh.length) onChange([...items, ...fresh]);
    setText("");
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      add(text);
    }
  };

  const onPaste = (e: ClipboardEvent<HTMLInputElement>) => {
    const pasted = e.clipboardData.getData("text");
    if (pieces(pasted).length > 1) {
      e.preventDefault();
      add(text + pasted);
    }
  };

  const pending = text.trim();
  const pendingProblem = pending ? pieces(pending).map((v) => checkItem?.(v)).find(Boolean) : undefined;
  // Whole-list problems (e.g. "needs at least one suite") have no index.
  const listLevel = problems.filter((p) => typeof p.path?.[indexDepth] !== "number");
  const itemLevel = problems.filter((p) => typeof p.path?.[indexDepth] === "number");

  return (
    <div>
      <div
        className={cn(
          "flex min-h-8 flex-wrap items-center gap-1 rounded-md border bg-white px-1 py-1 focus-within:border-sky-600 focus-within:ring-2 focus-within:ring-sky-600/20",
          problems.length ? "border-red-400" : "border-slate-300",
        )}
      >
        {items.map((item, i) => {
          const bad = badAt(i);
          return (
            <span
              key={`${i}-${item}`}
              data-testid="list-item"
              title={bad.map((p) => p.message).join("\n") || undefined}
              className={cn(
                "inline-flex max-w-full items-center gap-0.5 rounded py-0.5 pr-0.5 pl-1.5 font-mono text-xs",
                bad.length ? "bg-red-100 text-red-800 ring-1 ring-red-300" : "bg-slate-100 text-slate-800",
              )}
            >
              <span className="truncate">{item}</span>
              <button
                type="button"
                aria-label={`Remove ${item}`}
                onClick={() => onChange(items.filter((_, j) => j !== i))}
                className="ml-0.5 rounded px-1 text-slate-400 hover:bg-slate-200 hover:text-slate-800"
              >
                ✕
              </button>
            </span>
          );
        })}
        <input
          id={id}
          data-testid={testId}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setNote(null);
          }}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          // Text left in the box would be lost on save; leaving the box adds it.
          onBlur={() => add(text)}
          placeholder={items.length ? "add…" : (placeholder ?? "type and press Enter")}
          aria-describedby={describedBy}
          aria-invalid={pendingProblem ? true : undefined}
          className="h-6 min-w-[8rem] flex-1 bg-transparent px-1 font-mono text-xs outline-none placeholder:font-sans placeholder:text-slate-400"
        />
        {pending ? (
          <Button size="sm" variant="ghost" onMouseDown={(e) => e.preventDefault()} onClick={() => add(text)}>
            Add
          </Button>
        ) : null}
      </div>
      {pendingProblem ? <p className="mt-1 text-xs text-amber-700">Will be rejected: {pendingProblem}</p> : null}
      {note ? <p className="mt-1 text-xs text-slate-500">{note}</p> : null}
      <FieldMessages messages={toMessages([...listLevel, ...itemLevel])} />
    </div>
  );
}
