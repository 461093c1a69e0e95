// Validates an SPDX document against SPDX 2.3's JSON schema (the subset in
// test/fixtures/spdx-2.3-schema.json, which says where it comes from).
import { Ajv } from "ajv";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const schema = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "spdx-2.3-schema.json"), "utf8")) as object;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** The schema's complaints about `doc` (empty when it is valid). */
export function spdxErrors(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}
