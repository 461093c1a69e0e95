"use client";
import { useEffect, useRef, type FormEvent, type ReactNode } from "react";
import { cn } from "./cn";

export interface DialogProps {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  /** When given, the body is a form and Enter submits it. */
  onSubmit?: () => void;
  footer?: ReactNode;
  className?: string;
  testId?: string;
  children?: ReactNode;
}

/** A modal built on <dialog>: the browser gives focus trapping, Escape and the backdrop. */
export function Dialog({ open, onClose, title, description, onSubmit, footer, className, testId, children }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit?.();
  };

  const body = (
    <>
      <header className="border-b border-slate-200 px-5 py-3">
        <h2 className="text-base font-semibold text-slate-900">{title}</h2>
        {description ? <p className="mt-0.5 text-sm text-slate-500">{description}</p> : null}
      </header>
      <div className="space-y-4 px-5 py-4">{children}</div>
      {footer ? <footer className="flex justify-end gap-2 border-t border-slate-200 bg-slate-50 px-5 py-3">{footer}</footer> : null}
    </>
  );

  return (
    <dialog
      ref={ref}
      data-testid={testId}
      aria-label={typeof title === "string" ? title : undefined}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className={cn(
        "m-auto w-[min(32rem,calc(100vw-2rem))] rounded-lg border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/40",
        className,
      )}
    >
      {open ? onSubmit ? <form onSubmit={submit}>{body}</form> : body : null}
    </dialog>
  );
}
