"use client";
import { useEffect, useState, type ClipboardEvent, type KeyboardEvent, type ReactNode } from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { FieldMessages } from "@/components/ui/field";
import { toMessages, type ShownProblem } from "./problems";

/** A value offered as the user types, and how it is shown in the list. */
export interface ListSuggestion {
  value: string;
  content: ReactNode;
}

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
  /** Offered below the box as the user types; arrow keys move through them, Enter or a click picks one. */
  suggestions?: readonly ListSuggestion[];
  /** The text in the box as it is typed (to look up suggestions). */
  onTextChange?: (text: string) => void;
  /** Values just added, by typing, pasting or picking a suggestion. */
  onAdded?: (values: string[]) => void;
}

/** A list as chips: type a value and press Enter (or paste several) to add, ✕ to remove. */
export function ListEditor({ id, testId, items, onChange, problems, indexDepth, checkItem, placeholder, split = /[\s,]+/, describedBy, suggestions = [], onTextChange, onAdded }: ListEditorProps) {
  const [text, setTextState] = useState("");
  const [note, setNote] = useState<string | null>(null);
  // The highlighted suggestion (-1: none, so Enter adds what was typed), and whether the list shows.
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState(true);
  const setText = (t: string) => {
    setTextState(t);
    setActive(-1);
    setOpen(true);
    onTextChange?.(t);
  };
  useEffect(() => setActive((a) => (a >= suggestions.length ? -1 : a)), [suggestions.length]);
  const shown = open && text.trim() !== "" ? suggestions : [];

  const badAt = (i: number) => problems.filter((p) => p.path?.[indexDepth] === i);
  const pieces = (raw: string) => raw.split(split).map((s) => s.trim()).filter(Boolean);

  const add = (raw: string) => {
    const values = pieces(raw);
    if (values.length === 0) return;
    const fresh = values.filter((v, i) => !items.includes(v) && values.indexOf(v) === i);
    const dupes = values.filter((v) => items.includes(v));
    setNote(dupes.length ? `${dupes.map((d) => `'${d}'`).join(", ")} ${dupes.length === 1 ? "is" : "are"} already in the list` : null);
    if (fresh.length) {
      onChange([...items, ...fresh]);
      onAdded?.(fresh);
    }
    setText("");
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown" && shown.length > 0) {
      e.preventDefault();
      setActive((a) => Math.min(a + 1, shown.length - 1));
    } else if (e.key === "ArrowUp" && shown.length > 0) {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, -1));
    } else if (e.key === "Escape" && shown.length > 0) {
      e.preventDefault();
      setOpen(false);
      setActive(-1);
    } else if (e.key === "Enter") {
      e.preventDefault();
      const picked = active >= 0 ? shown[active] : undefined;
      add(picked ? picked.value : text);
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
    <div className="relative">
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
          role={suggestions.length || onTextChange ? "combobox" : undefined}
          aria-expanded={onTextChange ? shown.length > 0 : undefined}
          aria-controls={onTextChange ? `${id}-suggestions` : undefined}
          aria-autocomplete={onTextChange ? "list" : undefined}
          aria-activedescendant={active >= 0 && shown[active] ? `${id}-suggestion-${active}` : undefined}
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
      {shown.length > 0 ? (
        <ul
          id={`${id}-suggestions`}
          role="listbox"
          aria-label="Suggestions"
          className="absolute right-0 left-0 z-30 mt-1 max-h-80 overflow-auto rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg"
          data-testid={testId ? `${testId}-suggestions` : undefined}
        >
          {shown.map((s, i) => (
            <li
              key={s.value}
              id={`${id}-suggestion-${i}`}
              role="option"
              aria-selected={i === active}
              data-testid="suggestion"
              data-value={s.value}
              // Keeps the focus in the box (its blur would add the half-typed text).
              onMouseDown={(e) => e.preventDefault()}
              onMouseEnter={() => setActive(i)}
              onClick={() => add(s.value)}
              className={cn("cursor-pointer px-2 py-1", i === active ? "bg-sky-50" : "hover:bg-slate-50")}
            >
              {s.content}
            </li>
          ))}
        </ul>
      ) : null}
      {pendingProblem ? <p className="mt-1 text-xs text-amber-700">Will be rejected: {pendingProblem}</p> : null}
      {note ? <p className="mt-1 text-xs text-slate-500">{note}</p> : null}
      <FieldMessages messages={toMessages([...listLevel, ...itemLevel])} />
    </div>
  );
}
