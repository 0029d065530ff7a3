import { z } from 'zod';
import type { ColumnKind } from './column-types';

/**
 * The cursor a SQL table reader saves with each page, as JSON. Cursor values (`c`) are kept as
 * the database prints them, so a bound is exactly the last value read: microseconds and the
 * declared zone survive, and no JS Date ever stands in between.
 */

const KeyValue = z.union([z.string(), z.number()]);
export type KeyValue = z.infer<typeof KeyValue>;

/**
 * A place in `(cursor, key)` order: after row `(c, k)`. Without `k`, the place just before the
 * first row whose cursor is `c` or later (a run's look-back start).
 */
const Position = z.object({ c: z.string(), k: KeyValue.nullable() }).strict();
export type Position = z.infer<typeof Position>;

const Common = { v: z.literal(1), mode: z.literal('incremental') };

/** Start of a run: rows whose cursor is null, reported as rejects in key order. */
const NullsPhase = z
  .object({
    ...Common,
    phase: z.literal('nulls'),
    after: KeyValue.nullable(),
    start: Position.nullable(),
    prev: Position.nullable(),
    hi: z.string().nullable(),
  })
  .strict();

/** Inside a run: `pos` is the last row read (or the run's start), `hi` the run's upper bound. */
const RowsPhase = z
  .object({
    ...Common,
    phase: z.literal('rows'),
    pos: Position.nullable(),
    prev: Position.nullable(),
    hi: z.string().nullable(),
  })
  .strict();

/** After a finished run: the greatest `(cursor, key)` read so far; `at` is it as an ISO instant. */
const DonePhase = z
  .object({
    ...Common,
    phase: z.literal('done'),
    pos: Position.nullable(),
    at: z.string().nullable(),
  })
  .strict();

const FullRefresh = z
  .object({
    v: z.literal(1),
    mode: z.literal('full_refresh'),
    run: z.string().min(1),
    after: KeyValue.nullable(),
    done: z.boolean(),
  })
  .strict();

const SqlCursor = z.union([NullsPhase, RowsPhase, DonePhase, FullRefresh]);

export type NullsState = z.infer<typeof NullsPhase>;
export type RowsState = z.infer<typeof RowsPhase>;
export type DoneState = z.infer<typeof DonePhase>;
export type IncrementalState = NullsState | RowsState | DoneState;
export type FullRefreshState = z.infer<typeof FullRefresh>;
export type SqlCursorState = IncrementalState | FullRefreshState;

/** Parses saved cursor text; null when it is not a SQL reader cursor at all. */
export function decodeSqlCursor(text: string): SqlCursorState | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = SqlCursor.safeParse(json);
  return parsed.success ? parsed.data : null;
}

export function encodeSqlCursor(state: SqlCursorState): string {
  return JSON.stringify(state);
}

/**
 * For a full-refresh cursor, the run it belongs to and whether that run read the whole table.
 * Staging marks each record with `runId`; once a complete run's last page is staged, records of
 * the source not marked with it are gone from the table.
 */
export function fullRefreshRun(cursor: string): { runId: string; complete: boolean } | null {
  const state = decodeSqlCursor(cursor);
  if (state === null || state.mode !== 'full_refresh') return null;
  return { runId: state.run, complete: state.done };
}

/**
 * Orders two cursor values as the database does. Numbers compare as numbers; date-time text as
 * servers print it (`YYYY-MM-DD HH:MM:SS[.fraction][+00]`, one format per column, four-digit
 * years) orders by plain code-unit comparison, because a shorter fraction is a prefix.
 */
export function compareCursorValues(kind: ColumnKind, a: string, b: string): number {
  if (kind === 'number') {
    if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return Math.sign(Number(a) - Number(b));
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
