"use client";
import type { ISearchOptions, SearchAddon } from "@xterm/addon-search";
import { useEffect, useState, type RefObject } from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";

const DECORATIONS: ISearchOptions["decorations"] = {
  matchBackground: "#854d0e",
  matchOverviewRuler: "#ca8a04",
  activeMatchBackground: "#f59e0b",
  activeMatchColorOverviewRuler: "#f59e0b",
};

// The ghost variant is for light backgrounds: its colours are overridden here.
const dark = "border border-slate-700 text-slate-200! hover:bg-slate-800! hover:text-white! disabled:text-slate-600!";

/** Search box for the terminal: Enter finds the next match, Shift+Enter the previous one. */
export function TerminalSearch({ addon, inputRef }: { addon: SearchAddon | null; inputRef: RefObject<HTMLInputElement | null> }) {
  const [term, setTerm] = useState("");
  const [caseSensitive, setCaseSensitive] = useState(false);
  const [results, setResults] = useState<{ index: number; count: number } | null>(null);

  useEffect(() => {
    if (!addon) return;
    const sub = addon.onDidChangeResults((r) => setResults({ index: r.resultIndex, count: r.resultCount }));
    return () => sub.dispose();
  }, [addon]);

  const options = (incremental: boolean): ISearchOptions => ({ caseSensitive, incremental, decorations: DECORATIONS });
  const next = (incremental = false) => {
    if (addon && term) addon.findNext(term, options(incremental));
  };
  const previous = () => {
    if (addon && term) addon.findPrevious(term, options(false));
  };

  return (
    <div className="flex items-center gap-1" role="search" aria-label="Search the log">
      <input
        ref={inputRef}
        type="search"
        value={term}
        placeholder="Search the log (Ctrl+F)"
        aria-label="Search the log"
        data-testid="log-search"
        disabled={!addon}
        onChange={(e) => {
          const value = e.target.value;
          setTerm(value);
          if (!addon) return;
          if (value) addon.findNext(value, options(true));
          else {
            addon.clearDecorations();
            setResults(null);
          }
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            if (e.shiftKey) previous();
            else next();
          }
          if (e.key === "Escape") {
            setTerm("");
            addon?.clearDecorations();
            setResults(null);
          }
        }}
        onBlur={() => addon?.clearActiveDecoration()}
        className="h-7 w-56 rounded border border-slate-700 bg-slate-950 px-2 text-xs text-slate-100 placeholder:text-slate-500 focus:border-sky-500 focus:outline-none"
      />
      <Button size="sm" variant="ghost" className={dark} onClick={previous} disabled={!term} aria-label="Previous match" title="Previous match (Shift+Enter)" data-testid="log-search-previous">
        ↑
      </Button>
      <Button size="sm" variant="ghost" className={dark} onClick={() => next()} disabled={!term} aria-label="Next match" title="Next match (Enter)" data-testid="log-search-next">
        ↓
      </Button>
      <label className="ml-1 inline-flex items-center gap-1 text-[11px] text-slate-400" title="Match case">
        <input type="checkbox" checked={caseSensitive} onChange={(e) => setCaseSensitive(e.target.checked)} className="accent-sky-500" />
        Aa
      </label>
      <span className={cn("ml-1 min-w-16 text-[11px] tabular-nums", results && results.count === 0 ? "text-red-400" : "text-slate-400")} aria-live="polite" data-testid="log-search-count">
        {term && results
          ? results.count === 0
            ? "no match"
            : results.index < 0
              ? `${results.count}+ matches`
              : `${results.index + 1} of ${results.count}`
          : ""}
      </span>
    </div>
  );
}
