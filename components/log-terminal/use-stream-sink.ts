"use client";
// The page's side of a text stream whose event ids are byte offsets (a build log, a VM's
// console): what arrives goes into a LogSink for the terminal, counted in bytes.
import { useState } from "react";
import { LogSink } from "./log-sink";
import { StreamOffset } from "./stream-offset";

export function useStreamSink() {
  const [sink] = useState(() => new LogSink());
  // A stream that starts over (a retry after an error) skips what is already shown instead of doubling it.
  const [shown] = useState(() => new StreamOffset());
  const [bytes, setBytes] = useState(0);

  /** An event of the stream: its id (the byte offset after it) and its text. */
  const push = (id: string | undefined, text: string) => {
    sink.push(shown.take(id, text));
    setBytes(shown.bytes);
  };
  return { sink, bytes, push };
}
