import type { ReactNode } from "react";
import { cn } from "./cn";

export interface FieldMessage {
  message: string;
  /** Where the message came from when not the live check, e.g. "server" or "mkosi". */
  source?: string;
  /** A warning is something that was let pass; shown in amber instead of red. */
  warning?: boolean;
}

/** Messages under a field, announced to screen readers as they change. */
export function FieldMessages({ messages, id }: { messages: readonly FieldMessage[]; id?: string }) {
  if (messages.length === 0) return null;
  return (
    <ul id={id} role="alert" className="mt-1 space-y-0.5 text-xs" data-testid="field-problems">
      {messages.map((m, i) => (
        <li key={i} className={m.warning ? "flex gap-1 text-amber-700" : "flex gap-1 text-red-700"}>
          <span aria-hidden>⚠</span>
          <span>
            {m.source ? <span className="mr-1 font-medium">[{m.source}]</span> : null}
            {m.message}
          </span>
        </li>
      ))}
    </ul>
  );
}

export interface FieldProps {
  label: ReactNode;
  /** The control's id; the label points at it. Omit for groups labelled by a fieldset. */
  htmlFor?: string;
  help?: ReactNode;
  messages?: readonly FieldMessage[];
  /** Shown beside the label, e.g. a version badge or a reset button. */
  aside?: ReactNode;
  anchor?: string;
  className?: string;
  children: ReactNode;
}

export function Field({ label, htmlFor, help, messages = [], aside, anchor, className, children }: FieldProps) {
  return (
    <div id={anchor} className={cn("min-w-0 scroll-mt-24", className)}>
      <div className="mb-1 flex min-h-5 items-center gap-2">
        <label htmlFor={htmlFor} className="text-xs font-medium text-slate-700">
          {label}
        </label>
        {aside}
      </div>
      {children}
      {help ? <p className="mt-1 text-xs leading-snug text-slate-500">{help}</p> : null}
      <FieldMessages messages={messages} />
    </div>
  );
}
