"use client";
import { useEffect, useState } from "react";

/**
 * The current time, re-read every `intervalMs` while `running`; null until mounted (the
 * server's clock would not match the browser's during hydration).
 */
export function useNow(running: boolean, intervalMs = 1000): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [running, intervalMs]);
  return now;
}
