import type { ComputedField } from '../../config/datasets/links';
import type { RfmScoreConfig } from '../../config/datasets/scores';

/** A range of days, `(after, upTo]`. */
export interface DayRange {
  after: number;
  upTo: number;
}

/**
 * Days before the as-of day at which some field starts or stops counting an event: 0 (events
 * after the as-of day are never counted), each window's length, each RFM look-back, and the
 * look-backs shifted by the RFM time frame. When the as-of day moves, only customers with an
 * event that crosses one of these boundaries can see a value change.
 */
export function cutoffOffsets(
  computed: Iterable<ComputedField>,
  rfm: RfmScoreConfig | undefined,
): number[] {
  const offsets = new Set<number>([0]);
  for (const field of computed) if (field.window) offsets.add(field.window.days);
  if (rfm) {
    const points = [0, ...(rfm.history?.lookbackDays ?? [])];
    const frame = rfm.history?.windowDays;
    for (const point of points) {
      offsets.add(point);
      if (frame !== undefined) offsets.add(point + frame);
    }
  }
  return [...offsets].sort((a, b) => a - b);
}

/**
 * The day ranges whose events may count differently as of `asOfDay` than as of `previousDay`:
 * for each offset, the days between the two boundaries. Empty when the day did not move.
 */
export function movedRanges(
  previousDay: number,
  asOfDay: number,
  offsets: readonly number[],
): DayRange[] {
  if (previousDay === asOfDay) return [];
  const [low, high] = previousDay < asOfDay ? [previousDay, asOfDay] : [asOfDay, previousDay];
  return offsets.map((offset) => ({ after: low - offset, upTo: high - offset }));
}
