"use client";
import type { KeyboardEvent, ReactNode } from "react";
import { cn } from "./cn";

export interface TabItem {
  id: string;
  label: ReactNode;
  testId?: string;
  title?: string;
}

/** A row of tab buttons (WAI-ARIA tabs pattern: arrows move between tabs). */
export function Tabs({
  items,
  value,
  onChange,
  label,
  className,
  idPrefix,
}: {
  items: readonly TabItem[];
  value: string;
  onChange: (id: string) => void;
  label: string;
  className?: string;
  idPrefix: string;
}) {
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const i = items.findIndex((t) => t.id === value);
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!step || i < 0) return;
    e.preventDefault();
    const next = items[(i + step + items.length) % items.length];
    if (next) {
      onChange(next.id);
      document.getElementById(`${idPrefix}-tab-${next.id}`)?.focus();
    }
  };
  return (
    <div role="tablist" aria-label={label} onKeyDown={onKey} className={cn("flex flex-wrap gap-1", className)}>
      {items.map((t) => {
        const selected = t.id === value;
        return (
          <button
            key={t.id}
            id={`${idPrefix}-tab-${t.id}`}
            type="button"
            role="tab"
            title={t.title}
            aria-selected={selected}
            aria-controls={`${idPrefix}-panel`}
            tabIndex={selected ? 0 : -1}
            data-testid={t.testId}
            onClick={() => onChange(t.id)}
            className={cn(
              "inline-flex items-center gap-1.5 rounded px-2 py-1 font-mono text-xs transition-colors",
              selected ? "bg-slate-800 text-white" : "text-slate-600 hover:bg-slate-200 hover:text-slate-900",
            )}
          >
            {t.label}
          </button>
        );
      })}
    </div>
  );
}
