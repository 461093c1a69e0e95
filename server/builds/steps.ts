// Reads mkosi's output as it arrives: its step lines (those starting with "‣") become a
// timeline, and the last lines are kept to explain a failure. Pure and incremental: text comes
// in chunks cut anywhere, times come from the caller.
//
// mkosi 24 (mkosi/log.py) writes every log record as "‣ " + message. A step is
// "‣ " + one space per nesting level + the step's text; on a terminal the text is bold
// (ESC[0;1;39m), warnings yellow (ESC[33;1m), errors red (ESC[31;1m), and plain info records
// have no colour. Without a terminal there are no colours, so steps are told from other
// records by their shape (see isPlainStep).
import type { BuildStep } from "@/server/db/schema";

const STEP_MARK = "‣ ";
// CSI (colours, cursor moves) and OSC (titles) sequences.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
const LEADING_SGR = /^\x1b\[([0-9;]*)m/;
/** Longest line kept whole; the rest of a longer line (a progress bar without newlines) is dropped. */
const MAX_LINE = 4096;

export const stripAnsi = (s: string): string => s.replace(ANSI, "");

export type RecordKind = "step" | "info" | "warning" | "error" | "debug";

export interface MkosiRecord {
  kind: RecordKind;
  depth: number;
  text: string;
}

// log_step() also reports sizes; those are facts about a finished step, not steps.
const SIZE_REPORT = /^\S.* size is \S+, consumes \S+\.$/;

/**
 * Without colours: mkosi's step texts are sentences ("Installing Debian", "Building default
 * initrd"); warnings and notices start with a path, a module name or a quote
 * ("/usr/lib/firmware/... not found", "aead2 is a dependency of ..."); a step repeated while an
 * error unwinds is put in parentheses; and mkosi's own error messages have their known forms.
 */
function isPlainStep(text: string): boolean {
  return /^[A-Z]/.test(text) && !/^Interrupted\b/.test(text) && !/returned non-zero exit code/.test(text);
}

/**
 * Classifies one output line (terminal line endings already removed). Returns undefined for
 * lines that are not mkosi log records (the output of the tools it runs).
 */
export function parseRecord(line: string, coloured: boolean): MkosiRecord | undefined {
  if (!line.startsWith(STEP_MARK)) return undefined;
  let rest = line.slice(STEP_MARK.length);
  const spaces = /^ */.exec(rest)![0].length;
  rest = rest.slice(spaces);
  const sgr = LEADING_SGR.exec(rest)?.[1];
  const text = stripAnsi(rest).trimEnd();
  if (text === "") return undefined;
  let kind: RecordKind;
  if (sgr !== undefined) {
    const codes = sgr.split(";");
    if (codes.includes("31")) kind = "error";
    else if (codes.includes("33")) kind = "warning";
    else if (sgr === "0;38;5;245") kind = "debug";
    else if (codes.includes("1")) kind = "step";
    else kind = "info";
  } else if (coloured) {
    // On a terminal, a step is always bold: an uncoloured record is plain info.
    kind = "info";
  } else {
    kind = isPlainStep(text) ? "step" : "info";
  }
  if (kind === "step" && (SIZE_REPORT.test(text) || /^\(.*\)$/.test(text))) kind = "info";
  return { kind, depth: spaces, text };
}

// --- failure lines --------------------------------------------------------------------------

const FAILURE_PATTERNS: RegExp[] = [
  /returned non-zero exit code/,
  /^Interrupted\b/,
  /^(E|Err): /, // apt
  /^dpkg: (error|dependency problems)/,
  /^(Error|ERROR|error|Fatal|FATAL|fatal)\b\s*[:!]?/,
  /: (error|fatal): /,
  /\b(No space left on device|Permission denied|not found\.|Could not find|Cannot |cannot |Unable to|unable to)\b/,
  /^[A-Za-z_.]*(Error|Exception): /, // the last line of a Python traceback
];
// Said by builds that succeed as well: never the explanation. (systemd is not PID 1 on build
// machines; documentation excluded from the image leaves dangling man page alternatives.)
const NOISE = [
  /^System has not been booted with systemd/,
  /^Failed to connect to bus/,
  /^update-alternatives: error: alternative path \/usr\/share\/(man|doc|info)\//,
];

interface Kept {
  text: string;
  /** A record of mkosi's own, or a line of a tool it ran. */
  kind: RecordKind | "output";
}

const shown = (k: Kept) => (k.kind === "output" ? k.text : `${STEP_MARK}${k.text}`);

/** Incremental parser for one build's output. */
export class BuildOutputParser {
  readonly steps: BuildStep[] = [];
  private partial = "";
  private partialCut = false;
  private coloured = false;
  private readonly ring: Kept[] = [];
  private ended = false;

  constructor(private readonly ringSize = 200) {}

  /** Feeds decoded text; `now` stamps steps that start in it. Returns whether the steps changed. */
  feed(text: string, now: number): boolean {
    let changed = false;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      this.append(text.slice(start, nl));
      changed = this.line(now) || changed;
      start = nl + 1;
    }
    this.append(text.slice(start));
    return changed;
  }

  /** Ends the output: a last unterminated line counts, open steps end at `now`. */
  end(now: number): void {
    if (this.ended) return;
    this.ended = true;
    if (this.partial !== "") this.line(now);
    for (const s of this.steps) if (s.endedAt === null) s.endedAt = now;
  }

  /** The step running now (the innermost open one), if any. */
  current(): BuildStep | undefined {
    for (let i = this.steps.length - 1; i >= 0; i--) if (this.steps[i]!.endedAt === null) return this.steps[i];
    return undefined;
  }

  /** The lines that explain a failure: mkosi's errors and the failing tools' messages. */
  failureLines(max = 40): string[] {
    const picked: string[] = [];
    let inTraceback = false;
    for (const k of this.ring) {
      const t = k.text;
      if (NOISE.some((n) => n.test(t))) continue;
      if (/^Traceback \(most recent call last\):/.test(t)) inTraceback = true;
      const matches = k.kind === "error" || FAILURE_PATTERNS.some((p) => p.test(t));
      if (inTraceback || matches) picked.push(shown(k));
      // A traceback ends with the first line that is not indented (the exception itself).
      if (inTraceback && !/^Traceback/.test(t) && !/^\s/.test(t)) inTraceback = false;
    }
    const unique = picked.filter((t, i) => t !== picked[i - 1]);
    if (unique.length > 0) return unique.slice(-max);
    // Nothing recognisable: the last lines are the best explanation there is.
    return this.ring
      .filter((k) => !NOISE.some((n) => n.test(k.text)))
      .map(shown)
      .slice(-15);
  }

  private append(s: string): void {
    if (this.partialCut) return;
    if (this.partial.length + s.length > MAX_LINE) {
      this.partial += s.slice(0, MAX_LINE - this.partial.length);
      this.partialCut = true;
    } else this.partial += s;
  }

  private line(now: number): boolean {
    let raw = this.partial;
    this.partial = "";
    this.partialCut = false;
    // A terminal line ends in "\r\n"; a "\r" inside means the text before it was overwritten.
    raw = raw.replace(/\r+$/, ""); // "\r\r\n" when a program writes "\r\n" to the terminal
    const cr = raw.lastIndexOf("\r");
    if (cr >= 0) raw = raw.slice(cr + 1);
    if (!this.coloured && raw.startsWith(STEP_MARK) && raw.includes("\x1b[")) this.coloured = true;
    const rec = parseRecord(raw, this.coloured);
    const text = rec ? rec.text : stripAnsi(raw).trimEnd();
    if (text !== "") {
      this.ring.push({ text, kind: rec?.kind ?? "output" });
      if (this.ring.length > this.ringSize) this.ring.shift();
    }
    if (rec?.kind !== "step") return false;
    // A step ends where the next step at its level (or an outer one) starts.
    for (const s of this.steps) if (s.endedAt === null && s.depth >= rec.depth) s.endedAt = now;
    this.steps.push({ name: rec.text, depth: rec.depth, startedAt: now, endedAt: null });
    return true;
  }
}
