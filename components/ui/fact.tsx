import type { ReactNode } from "react";
import { cn } from "./cn";

/** A row of small label/value facts (a build's times, a VM's memory and CPUs), wrapping as needed. */
export function Facts({ className, children }: { className?: string; children: ReactNode }) {
  return <dl className={cn("flex flex-wrap gap-x-5 gap-y-0.5 text-xs text-slate-500", className)}>{children}</dl>;
}

/** One label and its value, inside Facts. */
export function Fact({ label, children }: { label: ReactNode; children: ReactNode }) {
  return (
    <div className="flex gap-1">
      <dt>{label}</dt>
      <dd className="text-slate-700">{children}</dd>
    </div>
  );
}
