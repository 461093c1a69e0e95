// A tiny line tokenizer for the files mkosi projects hold: INI-style (mkosi.conf, repart
// definitions, systemd units), deb822 (apt .sources) and anything else as plain text.

export type Syntax = "ini" | "deb822" | "plain";
export type TokenKind = "section" | "key" | "punct" | "value" | "comment" | "text";

export interface Token {
  kind: TokenKind;
  text: string;
}

const INI_FILES = /\.(conf|service|mount|automount|socket|timer|target|path|slice|swap|network|netdev|link)$/;

export function syntaxFor(path: string): Syntax {
  if (path.endsWith(".sources")) return "deb822";
  if (INI_FILES.test(path)) return "ini";
  return "plain";
}

export function tokenizeLine(line: string, syntax: Syntax): Token[] {
  if (line === "") return [];
  // mkosi and systemd only treat # and ; as comments at the start of a line.
  if (/^\s*[#;]/.test(line) && syntax !== "plain") return [{ kind: "comment", text: line }];
  if (syntax === "plain") return /^\s*#/.test(line) ? [{ kind: "comment", text: line }] : [{ kind: "text", text: line }];

  if (syntax === "ini") {
    const section = /^(\s*)(\[[^\]]*\])(\s*)$/.exec(line);
    if (section) return [{ kind: "text", text: section[1]! }, { kind: "section", text: section[2]! }, { kind: "text", text: section[3]! }];
    // Indented lines continue the previous key's value.
    if (/^\s/.test(line)) return [{ kind: "value", text: line }];
    const kv = /^([^=\s]+)(\s*=\s*)(.*)$/.exec(line);
    if (kv) return [{ kind: "key", text: kv[1]! }, { kind: "punct", text: kv[2]! }, { kind: "value", text: kv[3]! }];
    return [{ kind: "text", text: line }];
  }

  if (/^\s/.test(line)) return [{ kind: "value", text: line }];
  const field = /^([A-Za-z][A-Za-z0-9-]*)(:\s*)(.*)$/.exec(line);
  if (field) return [{ kind: "key", text: field[1]! }, { kind: "punct", text: field[2]! }, { kind: "value", text: field[3]! }];
  return [{ kind: "text", text: line }];
}
