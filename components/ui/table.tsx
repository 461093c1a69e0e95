// A data table: one header style and one cell rhythm for every table of the dashboard.
import type { TdHTMLAttributes, ThHTMLAttributes, HTMLAttributes, TableHTMLAttributes } from "react";
import { cn } from "./cn";

type Align = "left" | "right" | "center";
const ALIGN: Record<Align, string> = { left: "text-left", right: "text-right", center: "text-center" };

/** `size` is the body's text size; headers are always the same small caps. */
export function Table({ size = "sm", className, ...rest }: TableHTMLAttributes<HTMLTableElement> & { size?: "sm" | "xs" }) {
  return <table className={cn("w-full text-left", size === "sm" ? "text-sm" : "text-xs", className)} {...rest} />;
}

export function TableHead({ className, children, ...rest }: HTMLAttributes<HTMLTableSectionElement>) {
  return (
    <thead className={cn("bg-slate-50 text-[11px] tracking-wide text-slate-500 uppercase", className)} {...rest}>
      <tr>{children}</tr>
    </thead>
  );
}

/** A column header; without children give it a `label` read only by screen readers. */
export function Th({ align = "left", label, className, children, ...rest }: ThHTMLAttributes<HTMLTableCellElement> & { align?: Align; label?: string }) {
  return (
    <th scope="col" className={cn("px-3 py-1.5 font-medium", ALIGN[align], className)} {...rest}>
      {children ?? (label ? <span className="sr-only">{label}</span> : null)}
    </th>
  );
}

export function TableBody({ className, ...rest }: HTMLAttributes<HTMLTableSectionElement>) {
  return <tbody className={cn("divide-y divide-slate-100", className)} {...rest} />;
}

export function Td({ align = "left", className, ...rest }: TdHTMLAttributes<HTMLTableCellElement> & { align?: Align }) {
  return <td className={cn("px-3 py-1.5", ALIGN[align], className)} {...rest} />;
}
