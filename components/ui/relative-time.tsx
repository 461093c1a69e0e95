"use client";
import { useEffect, useState } from "react";

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 30],
  ["month", 12],
  ["year", Infinity],
];

export function relativeTime(date: Date, now: number): string {
  let value = (date.getTime() - now) / 1000;
  if (Math.abs(value) < 10) return "just now";
  const fmt = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return fmt.format(Math.round(value), unit);
    value /= size;
  }
  return date.toLocaleString();
}

/** "5 minutes ago", with the exact time on hover; re-renders every 30 s so it stays true. */
export function RelativeTime({ iso, className }: { iso: string; className?: string }) {
  // null until mounted: the server's clock and locale would not match the browser's.
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={now === null ? iso : date.toLocaleString()} className={className}>
      {now === null ? "" : relativeTime(date, now)}
    </time>
  );
}
