// The console's input rate: a full piece at once, then a steady refill.
import { describe, expect, it } from "vitest";
import { InputRate } from "@/server/vms/input-rate";
import { INPUT_RATE, MAX_INPUT_BYTES } from "@/server/vms/limits";

describe("InputRate", () => {
  it("takes a burst, then refuses with the time until the bytes would fit, then refills", () => {
    let now = 1_000;
    const rate = new InputRate({ bytesPerSecond: 100, burstBytes: 300 }, () => now);
    expect(rate.take(300)).toBe(0);
    expect(rate.take(50)).toBe(500);
    now += 250;
    expect(rate.take(50)).toBe(250); // 25 bytes came back, 25 more are missing
    now += 250;
    expect(rate.take(50)).toBe(0);
    now += 60_000;
    expect(rate.take(300)).toBe(0); // never more than the burst
    expect(rate.take(1)).toBe(10);
  });

  it("lets one full piece of input through at once", () => {
    expect(INPUT_RATE.burstBytes).toBe(MAX_INPUT_BYTES);
    expect(new InputRate().take(MAX_INPUT_BYTES)).toBe(0);
  });
});
