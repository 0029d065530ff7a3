/**
 * How long to sleep before the next delivery window: until the current window has passed, or
 * until the destination's requested resume time, whichever is later. Never negative.
 */
export function nextWindowDelayMs(input: {
  windowStartedMs: number;
  timeWindowMs: number;
  nowMs: number;
  waitUntilMs?: number;
}): number {
  const windowEnd = input.windowStartedMs + input.timeWindowMs;
  const resume = Math.max(windowEnd, input.waitUntilMs ?? 0);
  return Math.max(0, resume - input.nowMs);
}
