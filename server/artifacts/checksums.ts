// SHA256SUMS files as mkosi (and sha256sum) write them: "<hex> *<name>" (binary mode) or
// "<hex>  <name>" (text mode); the BSD form "SHA256 (<name>) = <hex>" is read too.

export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    let m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (m) {
      out.set(m[2]!, m[1]!.toLowerCase());
      continue;
    }
    m = /^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.toLowerCase());
  }
  return out;
}
