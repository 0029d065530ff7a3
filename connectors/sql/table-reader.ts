import { randomUUID } from 'node:crypto';
import { BadInputError } from '../errors';
import type { SourcePage, SourceReader, SourceReject, SourceRecord } from '../source-reader';
import { isTimeKind } from './column-types';
import {
  compareCursorValues,
  decodeSqlCursor,
  encodeSqlCursor,
  type DoneState,
  type FullRefreshState,
  type IncrementalState,
  type KeyValue,
  type NullsState,
  type Position,
  type RowsState,
} from './cursor';
import type { SqlTableOptions } from './options';
import { instantOf, valueText } from './row-values';
import { CURSOR, CURSOR_RAW, KEY, RECORD_KEY, TableSession, UPDATED_AT } from './table-session';
import { UTC, parseTimeText } from './zoned-time';

type Row = Record<string, unknown>;

/**
 * Reads a SQL table or view page by page with keyset pagination on `(cursor, key)`: each page
 * is `WHERE (cursor > c) OR (cursor = c AND key > k) ORDER BY cursor, key LIMIT pageSize`, so
 * rows sharing a cursor value are neither skipped nor read twice across pages, and a retried
 * extraction resumes exactly after the last saved page.
 *
 * Late commits (a row whose timestamp was set before the previous run but committed after it)
 * are caught by the look-back: every new run starts `lookBackSeconds` (default 300) behind the
 * saved cursor and reads that window again. We chose it over a safety lag as the default
 * because it delays no fresh row, and re-reading is harmless: staging is idempotent by content
 * hash. `safetyLagSeconds` can be added for transactions longer than the look-back; it caps a
 * run at the server's now() minus the lag. Either way the saved cursor is the greatest cursor
 * value read, never a clock value.
 *
 * Rows whose cursor is null or unparsable cannot be ordered; each run reports them as rejects
 * naming the table, key and column, and reads on. In `full_refresh` mode every run reads the
 * whole table in key order under a fresh run id carried in each page's cursor (see
 * `fullRefreshRun`), so staging can retire records that the run did not see.
 */
export class SqlTableReader implements SourceReader {
  private session: TableSession | undefined;

  constructor(private readonly opts: SqlTableOptions) {}

  async *pages(cursor: string | null, signal: AbortSignal): AsyncIterable<SourcePage> {
    signal.throwIfAborted();
    const session = await this.connect();
    const saved = cursor === null ? null : decodeSqlCursor(cursor);
    if (cursor !== null && saved === null) {
      throw new BadInputError(`${session.where}: the saved cursor is not a SQL table cursor`);
    }
    // A cursor from the other mode means the config changed: a complete read is the safe start.
    if (this.opts.mode === 'full_refresh') {
      const state = saved?.mode === 'full_refresh' && !saved.done ? saved : null;
      yield* this.fullRefresh(session, state, signal);
    } else {
      const state = saved?.mode === 'incremental' ? saved : null;
      yield* this.incremental(session, state, signal);
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) await session.close();
  }

  private async connect(): Promise<TableSession> {
    this.session ??= await TableSession.open(this.opts);
    return this.session;
  }

  private async *incremental(
    session: TableSession,
    saved: IncrementalState | null,
    signal: AbortSignal,
  ): AsyncIterable<SourcePage> {
    let state = saved;
    if (state === null || state.phase === 'done') {
      state = await this.startRun(session, state);
      const rejects = await this.nullKeyRejects(session);
      if (rejects.length > 0) yield { records: [], rejects, cursor: encodeSqlCursor(state) };
    }
    if (state.phase === 'nulls') {
      const rowsState: RowsState = {
        v: 1,
        mode: 'incremental',
        phase: 'rows',
        pos: state.start,
        prev: state.prev,
        hi: state.hi,
      };
      for await (const page of this.nullCursorPages(session, state, rowsState, signal)) yield page;
      state = rowsState;
    }
    yield* this.rowPages(session, state, signal);
  }

  /** A new run: from the previous run's position less the look-back, up to now less the lag. */
  private async startRun(session: TableSession, done: DoneState | null): Promise<NullsState> {
    const kind = session.layout.cursor!.kind;
    const zone = kind === 'timestamptz' ? UTC : this.opts.zone;
    const prev = done?.pos ?? null;
    let start: Position | null = prev;
    const lookBackMs = this.opts.lookBackSeconds * 1000;
    if (prev !== null && lookBackMs > 0 && isTimeKind(kind)) {
      const ms = parseTimeText(prev.c, zone);
      if (ms !== null) {
        start = { c: session.dialect.timeLiteral(kind, ms - lookBackMs, zone), k: null };
      }
    }

    let hi: string | null = null;
    if (this.opts.safetyLagSeconds !== undefined && isTimeKind(kind)) {
      const nowMs = await session.run(() => session.dialect.nowMs(session.db));
      hi = session.dialect.timeLiteral(kind, nowMs - this.opts.safetyLagSeconds * 1000, zone);
    }
    return { v: 1, mode: 'incremental', phase: 'nulls', after: null, start, prev, hi };
  }

  /** Rows whose cursor is null (or, on SQLite, not a date-time), in key order, as rejects. */
  private async *nullCursorPages(
    session: TableSession,
    from: NullsState,
    next: RowsState,
    signal: AbortSignal,
  ): AsyncIterable<SourcePage> {
    const { layout } = session;
    let after = from.after;
    for (;;) {
      signal.throwIfAborted();
      const q = session
        .select()
        .whereNotNull(layout.key.name)
        .whereRaw('? is null', [session.cursorExpr()]);
      if (after !== null) q.where(layout.key.name, '>', after);
      const rows = (await session.run(() =>
        q.orderBy(layout.key.name, 'asc').limit(this.opts.pageSize),
      )) as Row[];
      signal.throwIfAborted();

      const rejects = rows.map((row) => this.cursorReject(session, row));
      if (rows.length < this.opts.pageSize) {
        if (rows.length > 0) yield { records: [], rejects, cursor: encodeSqlCursor(next) };
        return;
      }
      after = keyOf(rows[rows.length - 1]!);
      yield { records: [], rejects, cursor: encodeSqlCursor({ ...from, after }) };
    }
  }

  private async *rowPages(
    session: TableSession,
    from: RowsState,
    signal: AbortSignal,
  ): AsyncIterable<SourcePage> {
    const { layout } = session;
    const cursorExpr = session.cursorExpr();
    let state = from;
    for (;;) {
      signal.throwIfAborted();
      const q = session
        .select()
        .whereNotNull(layout.key.name)
        .whereRaw('? is not null', [cursorExpr]);
      const pos = state.pos;
      if (pos !== null && pos.k === null) q.whereRaw('? >= ?', [cursorExpr, pos.c]);
      if (pos !== null && pos.k !== null) {
        const sql = '((? > ?) or (? = ? and ?? > ?))';
        q.whereRaw(sql, [cursorExpr, pos.c, cursorExpr, pos.c, layout.key.name, pos.k]);
      }
      if (state.hi !== null) q.whereRaw('? <= ?', [cursorExpr, state.hi]);
      q.orderByRaw('? asc, ?? asc', [cursorExpr, layout.key.name]).limit(this.opts.pageSize);
      const rows = (await session.run(() => q)) as Row[];
      signal.throwIfAborted();

      const page = this.toPage(session, rows, true);
      const last = rows[rows.length - 1];
      if (last !== undefined) {
        state = { ...state, pos: { c: String(last[CURSOR]), k: keyOf(last) } };
      }
      if (rows.length < this.opts.pageSize) {
        yield { ...page, cursor: encodeSqlCursor(this.finish(session, state)) };
        return;
      }
      yield { ...page, cursor: encodeSqlCursor(state) };
    }
  }

  /** The run's saved position: the greatest read, never behind the previous run's. */
  private finish(session: TableSession, state: RowsState): DoneState {
    const kind = session.layout.cursor!.kind;
    const read = state.pos !== null && state.pos.k !== null ? state.pos : null;
    let pos = read ?? state.prev;
    const behind = read !== null && state.prev !== null;
    if (behind && compareCursorValues(kind, read.c, state.prev!.c) < 0) pos = state.prev;
    const ms = pos === null ? null : instantOf(pos.c, kind, this.opts.zone);
    const at = ms === null ? null : new Date(ms).toISOString();
    return { v: 1, mode: 'incremental', phase: 'done', pos, at };
  }

  private async *fullRefresh(
    session: TableSession,
    saved: FullRefreshState | null,
    signal: AbortSignal,
  ): AsyncIterable<SourcePage> {
    const { layout } = session;
    let state: FullRefreshState = saved ?? {
      v: 1,
      mode: 'full_refresh',
      run: randomUUID(),
      after: null,
      done: false,
    };
    if (saved === null) {
      const rejects = await this.nullKeyRejects(session);
      if (rejects.length > 0) yield { records: [], rejects, cursor: encodeSqlCursor(state) };
    }
    for (;;) {
      signal.throwIfAborted();
      const q = session.select().whereNotNull(layout.key.name);
      if (state.after !== null) q.where(layout.key.name, '>', state.after);
      q.orderBy(layout.key.name, 'asc').limit(this.opts.pageSize);
      const rows = (await session.run(() => q)) as Row[];
      signal.throwIfAborted();

      const last = rows[rows.length - 1];
      const done = rows.length < this.opts.pageSize;
      state = { ...state, after: last === undefined ? state.after : keyOf(last), done };
      yield { ...this.toPage(session, rows, false), cursor: encodeSqlCursor(state) };
      if (done) return;
    }
  }

  /** Turns rows into records; with `checkCursor`, a row whose cursor does not parse is rejected. */
  private toPage(
    session: TableSession,
    rows: Row[],
    checkCursor: boolean,
  ): Omit<SourcePage, 'cursor'> {
    const { layout } = session;
    const zone = this.opts.zone;
    const records: SourceRecord[] = [];
    const rejects: SourceReject[] = [];
    for (const row of rows) {
      const key = valueText(row[RECORD_KEY], layout.recordKey.kind, zone);
      const origin = `${session.label}/${key}`;
      if (checkCursor && !this.cursorParses(session, row)) {
        rejects.push(this.cursorReject(session, row));
        continue;
      }
      if (key === '') {
        const field = layout.recordKey.name;
        rejects.push({ origin, field, reason: `record key column "${field}" is empty` });
        continue;
      }
      const values: Record<string, string> = {};
      for (const column of layout.columns) {
        values[column.name] = valueText(row[column.name], column.kind, zone);
      }
      const updatedAtMs = layout.updatedAt
        ? instantOf(row[UPDATED_AT], layout.updatedAt.kind, zone)
        : null;
      records.push({ key, values, updatedAtMs, origin });
    }
    return { records, rejects };
  }

  private cursorParses(session: TableSession, row: Row): boolean {
    const kind = session.layout.cursor!.kind;
    if (!isTimeKind(kind)) return true;
    return instantOf(String(row[CURSOR]), kind, this.opts.zone) !== null;
  }

  private cursorReject(session: TableSession, row: Row): SourceReject {
    const { layout } = session;
    const field = layout.cursor!.column.name;
    const recordKey = valueText(row[RECORD_KEY], layout.recordKey.kind, this.opts.zone);
    const raw = row[CURSOR_RAW];
    const shown = JSON.stringify(String(raw).slice(0, 40));
    const reason =
      raw === null || raw === undefined
        ? `cursor column "${field}" is empty`
        : `cursor column "${field}" is not a date-time: ${shown}`;
    return { origin: `${session.label}/${recordKey}`, recordKey, field, reason };
  }

  private async nullKeyRejects(session: TableSession): Promise<SourceReject[]> {
    const count = await session.countNullKeys();
    if (count === 0) return [];
    const field = session.layout.key.name;
    const reason = `${count} rows have an empty key column "${field}" and are not read`;
    return [{ origin: session.label, field, reason }];
  }
}

function keyOf(row: Row): KeyValue {
  const key = row[KEY];
  return typeof key === 'number' ? key : String(key);
}
