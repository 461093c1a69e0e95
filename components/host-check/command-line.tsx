"use client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { useCopy } from "@/components/ui/use-copy";

/** A shell command to run, with a button that copies it. */
export function CommandLine({ command, className, testId }: { command: string; className?: string; testId?: string }) {
  const { copy, label } = useCopy();
  return (
    <div className={cn("flex items-stretch overflow-hidden rounded-md border border-slate-700 bg-slate-900", className)}>
      <code className="min-w-0 flex-1 overflow-x-auto px-3 py-1.5 font-mono text-xs whitespace-pre text-slate-100 select-all" data-testid={testId}>
        <span className="text-slate-500 select-none"># </span>
        {command}
      </code>
      <Button size="sm" variant="ghost" onClick={() => void copy(command)} className="h-auto rounded-none border-l border-slate-700 text-slate-200! hover:bg-slate-800! hover:text-white!" aria-label={`Copy: ${command}`}>
        {label}
      </Button>
    </div>
  );
}
