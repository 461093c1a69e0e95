"use client";
// What is typed into a VM's console goes to vms.input one request at a time, in the order it
// was typed: keys typed while a request is out wait and go in the next one, appended (never
// reordered, never dropped while the VM can still take them). A paste faster than the
// console's input rate goes at that rate.
import { useCallback, useEffect, useRef, useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPCClient } from "@/components/trpc/client";
import { MAX_INPUT_BYTES } from "@/server/vms/limits";

/** Characters (UTF-16 units) per request: each is at most 3 bytes of UTF-8, so a piece stays within what the server takes per call. */
const MAX_CHARS = Math.floor(MAX_INPUT_BYTES / 3);
/** A request that did not reach the server (no answer) is tried again this often. */
const RETRIES = 3;
const RETRY_MS = 500;

/** The first piece of `text` to send: whole, or cut before MAX_CHARS without splitting a surrogate pair. */
function firstPiece(text: string): string {
  if (text.length <= MAX_CHARS) return text;
  const code = text.charCodeAt(MAX_CHARS - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? MAX_CHARS - 1 : MAX_CHARS);
}

export function useVmInput(runId: number) {
  const client = useTRPCClient();
  const waiting = useRef("");
  const sending = useRef(false);
  const mounted = useRef(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const pump = useCallback(async () => {
    if (sending.current) return;
    sending.current = true;
    let failures = 0;
    try {
      while (waiting.current && mounted.current) {
        const piece = firstPiece(waiting.current);
        try {
          await client.vms.input.mutate({ runId, data: piece });
          waiting.current = waiting.current.slice(piece.length);
          failures = 0;
        } catch (e) {
          const err = apiError(e);
          // Faster than the console takes input (a long paste): wait as long as the server says.
          if (err.code === "TOO_MANY_REQUESTS") {
            const wait = typeof err.details?.retryAfterMs === "number" ? err.details.retryAfterMs : 1000;
            await new Promise((r) => setTimeout(r, wait));
            continue;
          }
          // No code: the request got no answer (network), so it is tried again. An answer
          // (the VM is no longer running, input refused) means what waits cannot go anywhere.
          if (err.code === undefined && ++failures <= RETRIES) {
            await new Promise((r) => setTimeout(r, RETRY_MS * failures));
            continue;
          }
          const lost = waiting.current.length;
          waiting.current = "";
          if (mounted.current) setError(`${lost} typed character${lost === 1 ? "" : "s"} did not reach the VM: ${err.message}`);
        }
      }
    } finally {
      sending.current = false;
    }
  }, [client, runId]);

  const send = useCallback(
    (data: string) => {
      waiting.current += data;
      setError(null);
      void pump();
    },
    [pump],
  );

  return { send, error, dismissError: () => setError(null) };
}
