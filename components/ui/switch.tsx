import type { InputHTMLAttributes } from "react";
import { cn } from "./cn";

/** A checkbox drawn as a switch; still a real checkbox, so labels and keyboard work. */
export function Switch({ className, ...rest }: Omit<InputHTMLAttributes<HTMLInputElement>, "type">) {
  return (
    <input
      type="checkbox"
      role="switch"
      className={cn(
        "relative h-4 w-7 shrink-0 cursor-pointer appearance-none rounded-full bg-slate-300 transition-colors checked:bg-sky-600",
        "before:absolute before:top-0.5 before:left-0.5 before:h-3 before:w-3 before:rounded-full before:bg-white before:transition-transform",
        "checked:before:translate-x-3 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600",
        className,
      )}
      {...rest}
    />
  );
}
