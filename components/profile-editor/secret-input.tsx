"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Input, type InputProps } from "@/components/ui/input";

/** A password field with a show/hide toggle (the value is the user's own; hiding is for onlookers). */
export function SecretInput(props: Omit<InputProps, "type">) {
  const [shown, setShown] = useState(false);
  return (
    <div className="flex gap-1">
      <Input {...props} type={shown ? "text" : "password"} autoComplete="new-password" spellCheck={false} />
      <Button
        size="md"
        variant="secondary"
        aria-pressed={shown}
        aria-label={shown ? "Hide value" : "Show value"}
        aria-controls={props.id}
        onClick={() => setShown((s) => !s)}
        className="w-16 justify-center"
      >
        {shown ? "Hide" : "Show"}
      </Button>
    </div>
  );
}
