"use client";
// The one component that owns an xterm instance: it creates it on mount, disposes it on unmount,
// keeps it fitted to its box, and drains a LogSink into it once per animation frame. Read-only
// unless given `onInput` (a VM's console): then what is typed goes there. Loaded only in the
// browser (see lazy-log-terminal.tsx): xterm touches the DOM when imported.
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import type { LogSink } from "./log-sink";
import { TerminalSearch } from "./terminal-search";

/** Lines xterm keeps; the full log stays downloadable. */
export const SCROLLBACK_LINES = 20_000;
/** Characters handed to xterm per frame: xterm parses in slices, but a bounded hand-off keeps input snappy. */
const MAX_PER_FRAME = 256 * 1024;
/** Characters xterm may have queued before we wait for it (flow control, as xterm's docs advise). */
const HIGH_WATER = 1024 * 1024;

const THEME = {
  background: "#0b1120",
  foreground: "#e2e8f0",
  // A log has no cursor: drawn in the background colour. An input terminal shows CURSOR.
  cursor: "#0b1120",
  selectionBackground: "#334155",
  overviewRulerBorder: "#0b1120",
  black: "#1e293b",
  brightBlack: "#64748b",
};
const CURSOR = "#e2e8f0";
const SHOW_CURSOR = "\x1b[?25h";
const HIDE_CURSOR = "\x1b[?25l";

export interface LogTerminalProps {
  sink: LogSink;
  /** Extra controls for the toolbar (e.g. a download link). */
  actions?: ReactNode;
  /** Shown over the empty terminal until the first text arrives. */
  placeholder?: string;
  className?: string;
  /**
   * Keys typed into the terminal, as xterm encodes them (a VM's console). Without it the
   * terminal is read-only: no cursor, no stdin.
   */
  onInput?: (data: string) => void;
  /** data-testid of the panel, so pages with two terminals can tell them apart. */
  testId?: string;
}

export function LogTerminal({ sink, actions, placeholder, className, onInput, testId = "log-terminal" }: LogTerminalProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const searchInputRef = useRef<HTMLInputElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const [search, setSearch] = useState<SearchAddon | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [empty, setEmpty] = useState(true);
  const interactive = onInput !== undefined;
  // Read through refs: a new callback or mode must not recreate the terminal (its text would be lost).
  const onInputRef = useRef(onInput);
  const interactiveRef = useRef(interactive);
  useEffect(() => {
    onInputRef.current = onInput;
    interactiveRef.current = interactive;
  });

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const term = new Terminal({
      // The log may hold bare "\n" line ends (output that did not pass through the pty).
      convertEol: true,
      scrollback: SCROLLBACK_LINES,
      disableStdin: !interactiveRef.current,
      cursorBlink: false,
      cursorInactiveStyle: "none",
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
      fontSize: 12,
      lineHeight: 1.15,
      theme: THEME,
      overviewRuler: { width: 10 },
      // The search addon's match highlights are decorations, still a proposed API in xterm 6.
      allowProposedApi: true,
    });
    const fit = new FitAddon();
    const searchAddon = new SearchAddon({ highlightLimit: 2000 });
    term.loadAddon(fit);
    term.loadAddon(searchAddon);
    term.open(box);
    if (!interactiveRef.current) term.write(HIDE_CURSOR); // a log has no cursor
    termRef.current = term;
    setSearch(searchAddon);

    // Ctrl+F in a log goes to our search box rather than the browser's. In a console it is a
    // key for the program there (readline's forward-char), so it is left alone.
    term.attachCustomKeyEventHandler((e) => {
      if (interactiveRef.current) return true;
      if (e.type === "keydown" && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "f") {
        e.preventDefault();
        searchInputRef.current?.focus();
        return false;
      }
      return true;
    });

    const dataSub = term.onData((data) => {
      if (interactiveRef.current) onInputRef.current?.(data);
    });

    const scrollSub = term.onScroll(() => {
      const b = term.buffer.active;
      setAtBottom(b.viewportY >= b.baseY);
    });

    let fitFrame = 0;
    const refit = () => {
      cancelAnimationFrame(fitFrame);
      fitFrame = requestAnimationFrame(() => {
        try {
          fit.fit();
        } catch {
          /* hidden (no size): fitted when it shows again */
        }
      });
    };
    const observer = new ResizeObserver(refit);
    observer.observe(box);
    refit();

    // Drain the sink at most once a frame, and not faster than xterm parses.
    let frame = 0;
    let inFlight = 0;
    let disposed = false;
    const schedule = () => {
      if (!frame && !disposed) frame = requestAnimationFrame(pump);
    };
    const pump = () => {
      frame = 0;
      if (inFlight > HIGH_WATER || sink.size === 0) return;
      const text = sink.take(MAX_PER_FRAME);
      inFlight += text.length;
      setEmpty(false);
      term.write(text, () => {
        inFlight -= text.length;
        if (sink.size > 0) schedule();
      });
      if (sink.size > 0) schedule();
    };
    const unlisten = sink.listen({
      onData: schedule,
      onReset: () => {
        term.reset();
        if (!interactiveRef.current) term.write(HIDE_CURSOR);
        setEmpty(true);
      },
    });

    return () => {
      disposed = true;
      cancelAnimationFrame(frame);
      cancelAnimationFrame(fitFrame);
      unlisten();
      observer.disconnect();
      scrollSub.dispose();
      dataSub.dispose();
      termRef.current = null;
      setSearch(null);
      term.dispose();
    };
  }, [sink]);

  // Switching between read-only and input (a VM that stops) keeps the text, changes the options.
  useEffect(() => {
    const term = termRef.current;
    if (!term) return;
    term.options.disableStdin = !interactive;
    term.options.cursorBlink = interactive;
    // Unfocused, a console still shows where its cursor is; a log shows none.
    term.options.cursorInactiveStyle = interactive ? "outline" : "none";
    term.options.theme = { ...THEME, cursor: interactive ? CURSOR : THEME.cursor };
    term.write(interactive ? SHOW_CURSOR : HIDE_CURSOR);
    if (!interactive) term.blur();
  }, [interactive, sink]);

  return (
    <div className={cn("flex min-h-0 flex-col overflow-hidden rounded-lg border border-slate-800 bg-[#0b1120]", className)} data-testid={testId} data-interactive={interactive || undefined}>
      <div className="flex flex-wrap items-center gap-2 border-b border-slate-800 bg-slate-900 px-2 py-1.5">
        <TerminalSearch addon={search} inputRef={searchInputRef} />
        <div className="ml-auto flex items-center gap-2">
          {!atBottom ? (
            <Button
              size="sm"
              variant="ghost"
              className="border border-slate-700 text-slate-200! hover:bg-slate-800! hover:text-white!"
              onClick={() => termRef.current?.scrollToBottom()}
              data-testid="log-follow"
            >
              ↓ Follow output
            </Button>
          ) : null}
          {actions}
        </div>
      </div>
      <div className="relative min-h-0 flex-1">
        {/* xterm sizes itself to this box; the padding lives outside it so fit() measures true space. */}
        <div
          ref={boxRef}
          className="absolute inset-0 left-2 py-1"
          data-testid={`${testId}-screen`}
          // A click on the padding around the rows focuses the terminal too, so typing goes to it.
          onClick={interactive ? () => termRef.current?.focus() : undefined}
        />
        {empty && placeholder ? (
          <p className="pointer-events-none absolute inset-x-0 top-3 text-center text-xs text-slate-500">{placeholder}</p>
        ) : null}
      </div>
    </div>
  );
}
