// Snapshots of builds and conversion jobs that reach a page out of order keep the later one.
import { describe, expect, it } from "vitest";
import { jobAge } from "@/components/artifacts/job-age";
import { buildAge } from "@/components/builds/build-age";
import { later, laterList } from "@/components/trpc/forward-only";

type Job = { id: number; state: "running" | "succeeded" | "failed" | "cancelled" | "interrupted"; progress: number };
const job = (progress: number, state: Job["state"] = "running"): Job => ({ id: 7, state, progress });

describe("later", () => {
  it("keeps the stream's 4% when the convert answer (0%) arrives after it: the bar seen as 0, 4, 0 in CI", () => {
    let held: Job | undefined;
    for (const arrived of [job(0), job(0.04), job(0), job(0.25), job(1, "succeeded")]) held = later(held, arrived, jobAge);
    expect(held).toEqual(job(1, "succeeded"));
    const shown: number[] = [];
    held = undefined;
    for (const arrived of [job(0), job(0.04), job(0), job(0.25)]) {
      held = later(held, arrived, jobAge);
      shown.push(held.progress);
    }
    expect(shown).toEqual([0, 0.04, 0.04, 0.25]);
  });

  it("never puts a running copy over an ended one, even with more progress", () => {
    expect(later(job(0.5, "cancelled"), job(0.9), jobAge)).toEqual(job(0.5, "cancelled"));
    expect(later(job(0.9), job(0.5, "failed"), jobAge)).toEqual(job(0.5, "failed"));
  });

  it("takes the incoming copy on a tie (a change that does not move the age, e.g. a new error text)", () => {
    const a = { ...job(1, "succeeded"), note: "a" };
    const b = { ...job(1, "succeeded"), note: "b" };
    expect(later(a, b, jobAge).note).toBe("b");
  });

  it("orders builds by state, then by their growing log", () => {
    const b = (state: string, logBytes: number | null) => ({ state, logBytes }) as Parameters<typeof buildAge>[0];
    expect(later(b("running", 10), b("queued", null), buildAge).state).toBe("running");
    expect(later(b("succeeded", 500), b("running", 400), buildAge).state).toBe("succeeded");
    expect(later(b("running", 500), b("running", 400), buildAge).logBytes).toBe(500);
    expect(later(b("running", 400), b("running", 500), buildAge).logBytes).toBe(500);
  });
});

describe("laterList", () => {
  it("takes membership from the answer and the later copy of each item", () => {
    const held = [{ ...job(0.6), id: 1 }, { ...job(0.2), id: 2 }];
    const answer = [{ ...job(0.3), id: 1 }, { ...job(0.4), id: 3 }];
    expect(laterList(held, answer, jobAge)).toEqual([{ ...job(0.6), id: 1 }, { ...job(0.4), id: 3 }]);
    expect(laterList(undefined, answer, jobAge)).toEqual(answer);
  });
});
