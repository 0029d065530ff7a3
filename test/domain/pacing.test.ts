import { nextWindowDelayMs } from '../../domain/pacing';

describe('nextWindowDelayMs', () => {
  it.each([
    [
      'the rest of the window',
      { windowStartedMs: 1_000, timeWindowMs: 3_000, nowMs: 2_500 },
      1_500,
    ],
    [
      'zero once the window has passed',
      { windowStartedMs: 1_000, timeWindowMs: 3_000, nowMs: 9_000 },
      0,
    ],
    [
      'zero exactly at the window end',
      { windowStartedMs: 1_000, timeWindowMs: 3_000, nowMs: 4_000 },
      0,
    ],
    [
      'until the resume time when it is later than the window end',
      { windowStartedMs: 1_000, timeWindowMs: 3_000, nowMs: 2_000, waitUntilMs: 61_000 },
      59_000,
    ],
    [
      'until the window end when the resume time is earlier',
      { windowStartedMs: 1_000, timeWindowMs: 3_000, nowMs: 2_000, waitUntilMs: 1_500 },
      2_000,
    ],
    [
      'zero when both the window and the resume time have passed',
      { windowStartedMs: 1_000, timeWindowMs: 3_000, nowMs: 70_000, waitUntilMs: 61_000 },
      0,
    ],
  ])('waits %s', (_, input, expected) => {
    expect(nextWindowDelayMs(input)).toBe(expected);
  });
});
