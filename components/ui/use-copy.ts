"use client";
// Copy-to-clipboard for a button: its label says what happened for a moment afterwards.
import { useCallback, useEffect, useRef, useState } from "react";

const SHOWN_MS = 1500;

/**
 * `copy(text)` puts text on the clipboard; `label` is "Copied", or "Select it" when the
 * browser refused (clipboard access needs a secure context), for 1.5 s, else "Copy".
 */
export function useCopy(): { copy: (text: string) => Promise<void>; label: "Copy" | "Copied" | "Select it" } {
  const [result, setResult] = useState<"Copied" | "Select it" | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const copy = useCallback(async (text: string) => {
    let next: "Copied" | "Select it";
    try {
      await navigator.clipboard.writeText(text);
      next = "Copied";
    } catch {
      next = "Select it";
    }
    setResult(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setResult(null), SHOWN_MS);
  }, []);
  return { copy, label: result ?? "Copy" };
}
