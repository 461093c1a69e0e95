import type { InputHTMLAttributes, Ref, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";
import { cn } from "./cn";

const BASE =
  "rounded-md border bg-white px-2 text-sm text-slate-900 placeholder:text-slate-400 " +
  "focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-600/20 disabled:bg-slate-100";

const border = (invalid?: boolean) => (invalid ? "border-red-400" : "border-slate-300");

export interface InputProps extends InputHTMLAttributes<HTMLInputElement> {
  invalid?: boolean;
  ref?: Ref<HTMLInputElement>;
}

export function Input({ invalid, className, ...rest }: InputProps) {
  return <input aria-invalid={invalid || undefined} className={cn(BASE, "h-8 w-full", border(invalid), className)} {...rest} />;
}

export interface TextareaProps extends TextareaHTMLAttributes<HTMLTextAreaElement> {
  invalid?: boolean;
}

export function Textarea({ invalid, className, ...rest }: TextareaProps) {
  return <textarea aria-invalid={invalid || undefined} className={cn(BASE, "w-full py-1.5", border(invalid), className)} {...rest} />;
}

export interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  invalid?: boolean;
}

export function Select({ invalid, className, ...rest }: SelectProps) {
  return <select aria-invalid={invalid || undefined} className={cn(BASE, "h-8 w-full pr-6", border(invalid), className)} {...rest} />;
}
