import { cn } from "@/components/ui/cn";

function lineClass(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return "text-slate-400 font-semibold";
  if (line.startsWith("@@")) return "bg-sky-950/60 text-sky-300";
  if (line.startsWith("+")) return "bg-emerald-950/70 text-emerald-300";
  if (line.startsWith("-")) return "bg-red-950/70 text-red-300";
  if (line.startsWith("\\")) return "text-slate-500 italic";
  return "text-slate-300";
}

/** A unified diff with added lines green and removed lines red. */
export function PatchView({ patch, className }: { patch: string; className?: string }) {
  const lines = patch.replace(/\n$/, "").split("\n");
  return (
    <pre className={cn("overflow-x-auto bg-slate-900 py-1 font-mono text-xs leading-5", className)} data-testid="patch">
      <code>
        {lines.map((l, i) => (
          <span key={i} className={cn("block min-w-max px-3", lineClass(l))}>
            {l || " "}
            {"\n"}
          </span>
        ))}
      </code>
    </pre>
  );
}
