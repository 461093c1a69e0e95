"use client";
// xterm needs the DOM at import time: load the terminal in the browser only.
import dynamic from "next/dynamic";

export const LazyLogTerminal = dynamic(() => import("./log-terminal").then((m) => m.LogTerminal), {
  ssr: false,
  loading: () => (
    <div className="flex h-full min-h-0 items-center justify-center rounded-lg border border-slate-800 bg-[#0b1120] text-xs text-slate-500">Loading terminal…</div>
  ),
});
