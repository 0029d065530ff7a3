/** What one request sees of the rate limit; `resetEpochSeconds` is when its window ends. */
export type RateWindowState = {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetEpochSeconds: number;
};

/**
 * Fixed-window request limiter. A window opens with the first request after the previous one
 * ended (not on a wall-clock grid), so a test that sends N requests in a row always lands in
 * one window. Requests refused with 429 do not use up the window.
 */
export class FixedRateWindow {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly volume: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request if the window has room. */
  take(): RateWindowState {
    this.roll();
    const allowed = this.used < this.volume;
    if (allowed) this.used += 1;
    return { allowed, ...this.describe() };
  }

  /** The state a request would see, without counting it (for 401s and injected failures). */
  peek(): RateWindowState {
    const nowMs = this.now();
    if (nowMs >= this.windowStartMs + this.windowMs) {
      const resetEpochSeconds = Math.ceil((nowMs + this.windowMs) / 1000);
      return { allowed: true, limit: this.volume, remaining: this.volume, resetEpochSeconds };
    }
    return { allowed: this.used < this.volume, ...this.describe() };
  }

  reset(): void {
    this.windowStartMs = Number.NEGATIVE_INFINITY;
    this.used = 0;
  }

  private roll(): void {
    const nowMs = this.now();
    if (nowMs >= this.windowStartMs + this.windowMs) {
      this.windowStartMs = nowMs;
      this.used = 0;
    }
  }

  private describe(): Omit<RateWindowState, 'allowed'> {
    return {
      limit: this.volume,
      remaining: Math.max(0, this.volume - this.used),
      // Braze sends whole epoch seconds; rounding up never announces a reset too early.
      resetEpochSeconds: Math.ceil((this.windowStartMs + this.windowMs) / 1000),
    };
  }
}
