// The console driver: finds the login prompt in a real Debian 12 boot transcript however the
// bytes are split, and runs commands against a simulated shell (echo of the typed line, the
// command's output, ANSI codes and carriage returns, as a serial console gives them).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTOLOGIN, LOGIN_PROMPT } from "@/server/vms/check-plan";
import { ConsoleDriver, ConsoleTimeout, CURSOR_REPORT, plainText } from "@/server/vms/console-driver";

const transcript = readFileSync(join(__dirname, "../fixtures/console/debian-12-first-boot.log"), "latin1");

/** An async source the test pushes text into. */
function source() {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const iterable: AsyncIterable<{ text: string }> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield { text: queue.shift()! };
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  const push = (t: string) => {
    queue.push(t);
    wake?.();
  };
  const end = () => {
    ended = true;
    wake?.();
  };
  return { iterable, push, end };
}

function random(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0), s / 2 ** 32);
}

describe("plainText", () => {
  it("drops colours, cursor moves, bracketed-paste switches and carriage returns", () => {
    expect(plainText("\x1b[0;32m  OK  \x1b[0m] Started\r\n\x1b[?2004hroot@h:~# \x1b]0;title\x07x")).toBe("  OK  ] Started\nroot@h:~# x");
  });
});

describe("ConsoleDriver on a real boot transcript", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`finds the prompt and the automatic login, split into random chunks (seed ${seed})`, async () => {
      const src = source();
      const driver = new ConsoleDriver(src.iterable, () => undefined);
      const rnd = random(seed);
      const loginAt = transcript.indexOf("immutable-debian login:");
      expect(loginAt).toBeGreaterThan(0);
      // Feed up to just past "login: " first, then the rest in small pieces: the automatic
      // login text arriving later must still be seen.
      let pos = 0;
      const feedTo = (end: number) => {
        while (pos < end) {
          const n = Math.min(end - pos, 1 + Math.floor(rnd() * 700));
          src.push(transcript.slice(pos, pos + n));
          pos += n;
        }
      };
      feedTo(loginAt + "immutable-debian login: ".length + 2);
      await driver.waitFor(LOGIN_PROMPT, 1000);
      const auto = driver.next(AUTOLOGIN, 1000);
      feedTo(transcript.length);
      expect(await auto).not.toBeNull();
      src.end();
    });
  }

  it("does not take a login prompt that is not there, and says what it waited for", async () => {
    const src = source();
    const driver = new ConsoleDriver(src.iterable, () => undefined);
    src.push(transcript.slice(0, transcript.indexOf("immutable-debian login:")));
    await expect(driver.waitFor(LOGIN_PROMPT, 50, "the login prompt")).rejects.toThrow(ConsoleTimeout);
    await expect(driver.waitFor(LOGIN_PROMPT, 50, "the login prompt")).rejects.toThrow(/the login prompt: nothing after/);
  });

  it("says when the console closes", async () => {
    const src = source();
    const driver = new ConsoleDriver(src.iterable, () => undefined);
    src.push("booting...\n");
    src.end();
    await expect(driver.waitFor(LOGIN_PROMPT, 5_000)).rejects.toThrow(/console closed/);
  });
});

describe("ConsoleDriver.run against a simulated shell", () => {
  /** Echoes typed lines as a tty does, then answers like bash would, in awkward pieces. */
  function shell(answers: Record<string, { out: string; status: number }>) {
    const src = source();
    const rnd = random(7);
    const typed: string[] = [];
    const driver = new ConsoleDriver(src.iterable, (data) => {
      typed.push(data);
      const line = data.replace(/\n$/, "");
      const m = /^M=(__IS\w+); echo "\$M"_BEGIN; (.*); echo "\$M"_END_\$\?$/.exec(line);
      let reply = `\x1b[?2004h${line}\r\n\x1b[?2004l\r`;
      if (m) {
        const a = answers[m[2]!] ?? { out: `bash: ${m[2]}: command not found\r\n`, status: 127 };
        reply += `${m[1]}_BEGIN\r\n${a.out}${m[1]}_END_${a.status}\r\n\x1b[?2004hroot@vm:~# `;
      }
      // Split the reply at random points, including inside escape sequences.
      let i = 0;
      while (i < reply.length) {
        const n = 1 + Math.floor(rnd() * 9);
        src.push(reply.slice(i, i + n));
        i += n;
      }
    });
    return { driver, typed, end: src.end };
  }

  it("returns each command's output and exit status, not the echo of the typed line", async () => {
    const { driver, typed } = shell({
      "cat /proc/cmdline": { out: "console=ttyS0 systemd.volatile=overlay\r\n", status: 0 },
      "touch /x": { out: "touch: cannot touch '/x': Read-only file system\r\n", status: 1 },
      true: { out: "", status: 0 },
    });
    expect(await driver.run("cat /proc/cmdline", 1000)).toEqual({ output: "console=ttyS0 systemd.volatile=overlay\n", status: 0 });
    expect(await driver.run("touch /x", 1000)).toEqual({ output: "touch: cannot touch '/x': Read-only file system\n", status: 1 });
    expect(await driver.run("true", 1000)).toEqual({ output: "", status: 0 });
    expect(await driver.run("nope", 1000)).toEqual({ output: "bash: nope: command not found\n", status: 127 });
    // One line per command, ending in a newline: nothing typed can run as two commands.
    expect(typed.every((t) => t.indexOf("\n") === t.length - 1)).toBe(true);
  });

  it("times out on a command that never answers", async () => {
    const src = source();
    const driver = new ConsoleDriver(src.iterable, () => undefined);
    await expect(driver.run("sleep 1000", 50)).rejects.toThrow(/the command 'sleep 1000': nothing after/);
  });
});

describe("terminal queries", () => {
  it("answers systemd 257's cursor position query as a terminal would, once per query, even cut between chunks", async () => {
    const typed: string[] = [];
    const chunks = ["Debian GNU/Linux 13 \x1b[!p\x1b]104\x07\x1b[?7h\x1b[", "6n\x1b[32766;32766H\x1b[6n\nhost login: "];
    async function* source() {
      for (const text of chunks) yield { text };
    }
    const d = new ConsoleDriver(source(), (s) => typed.push(s));
    await d.waitFor(/login: /, 1_000);
    expect(typed).toEqual([CURSOR_REPORT, CURSOR_REPORT]);
    expect(d.seen()).toBe("Debian GNU/Linux 13 \nhost login: ");
  });
});
