// A token bucket for typed console input: full at the start, refilled at a steady rate.
import { INPUT_RATE } from "./limits";

export class InputRate {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: { bytesPerSecond: number; burstBytes: number } = INPUT_RATE,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate.burstBytes;
    this.at = now();
  }

  /** Takes `bytes` and returns 0 if they fit now; otherwise takes nothing and returns the milliseconds until they would. */
  take(bytes: number): number {
    const t = this.now();
    this.tokens = Math.min(this.rate.burstBytes, this.tokens + ((t - this.at) / 1000) * this.rate.bytesPerSecond);
    this.at = t;
    if (bytes <= this.tokens) {
      this.tokens -= bytes;
      return 0;
    }
    return Math.ceil(((bytes - this.tokens) / this.rate.bytesPerSecond) * 1000);
  }
}
