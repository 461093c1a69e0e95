// Reading subordinate id ranges (/etc/subuid, /etc/subgid) for the user the dashboard runs as.
import { describe, expect, it } from "vitest";
import { SUBID_COUNT, subidRange } from "@/server/host/identity";

const FILE = ["alice:100000:65536", "995:200000:65536", "short:300000:1000", "bad:x:70000", "", "# not a comment format, but harmless"].join("\n");

describe("subidRange", () => {
  it("finds a user's range by name or by uid", () => {
    expect(subidRange(FILE, "alice", 1000)).toEqual({ start: 100000, count: 65536 });
    expect(subidRange(FILE, "image-studio", 995)).toEqual({ start: 200000, count: 65536 });
  });

  it(`wants at least ${SUBID_COUNT} ids, and whole numbers`, () => {
    expect(subidRange(FILE, "short", 1)).toBeNull();
    expect(subidRange(FILE, "bad", 2)).toBeNull();
    expect(subidRange(FILE, "short", 1, 1000)).toEqual({ start: 300000, count: 1000 });
  });

  it("finds nothing for a user without a line", () => {
    expect(subidRange(FILE, "bob", 1001)).toBeNull();
    expect(subidRange("", "alice", 1000)).toBeNull();
  });
});
