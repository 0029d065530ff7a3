import type { Knex } from 'knex';

import type { ComputedField, EventColumns } from '../config/datasets/links';
import type { DayRange } from '../domain/computed/cutoffs';
import type { PreparedEvent } from '../domain/computed/events';
import type { RfmAggregate } from '../domain/computed/rfm-fields';
import { SyncError } from '../connectors/errors';
import { chunk } from '../domain/diff';
import { bulkInsert, inIds, inValues, type ColumnType } from './bulk';
import { isPostgres } from './db';
import { loadGoldenRecords, type ChangesSince, type GoldenRecord } from './identity';

type Db = Knex | Knex.Transaction;

/**
 * A database failure while preparing a dataset. Knex puts the SQL with its bound values in
 * its messages (emails, amounts, payloads), and activity failures are stored in workflow
 * history, so the message names only the step, the table and the database's error code; the
 * original stays in `cause`, which activities/failure.ts never copies into a failure.
 * Retryable: locks, timeouts and lost connections pass, and the retry policy bounds the rest.
 */
export class PrepareStoreError extends SyncError {
  constructor(step: string, where: string, cause: unknown) {
    super(`Preparing failed: ${step} on ${where} (${databaseCode(cause)})`, {
      code: 'STORE',
      retryable: true,
      cause,
    });
  }
}

/** The driver's error code (SQLITE_BUSY, PostgreSQL's SQLSTATE): never a value of a row. */
function databaseCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'database error';
}

/** Runs a store step, turning any untyped error into a PrepareStoreError naming the step. */
export async function guarded<T>(step: string, where: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SyncError) throw error;
    throw new PrepareStoreError(step, where, error);
  }
}

/** Keys or ids per IN list: well under SQLite's and PostgreSQL's bound-parameter limits. */
const IN_CHUNK = 900;
/** Events per bulk INSERT (one JSON parameter, see store/bulk.ts). */
const BULK_ROWS = 5000;

export interface PreparedState {
  configHash: string;
  asOfDay: number | null;
  /** The clock of the prepare that wrote the state (read only; set from `nowMs`). */
  updatedAtMs?: number;
  /**
   * Events datasets: source changes at or above this sequence (migration 010) are not
   * materialized yet; null or absent when not known.
   */
  changeSeqFrom?: number | null;
}

export async function getPreparedState(
  db: Db,
  dataset: string,
): Promise<PreparedState | undefined> {
  return guarded('getPreparedState', 'prepared_state', async () => {
    const row = await db('prepared_state')
      .where({ dataset })
      .first('config_hash', 'as_of_day', 'updated_at_ms', 'change_seq_from');
    if (!row) return undefined;
    return {
      configHash: row.config_hash,
      asOfDay: row.as_of_day === null ? null : Number(row.as_of_day),
      updatedAtMs: Number(row.updated_at_ms),
      changeSeqFrom: row.change_seq_from === null ? null : Number(row.change_seq_from),
    };
  });
}

export async function setPreparedState(
  db: Db,
  dataset: string,
  state: PreparedState,
  nowMs: number,
): Promise<void> {
  return guarded('setPreparedState', 'prepared_state', async () => {
    await db('prepared_state')
      .insert({
        dataset,
        config_hash: state.configHash,
        as_of_day: state.asOfDay,
        updated_at_ms: nowMs,
        change_seq_from: state.changeSeqFrom ?? null,
      })
      .onConflict('dataset')
      .merge();
  });
}

/** A staged event record whose materialized row is missing, stale or deleted at the source. */
export interface ChangedEvent {
  id: number;
  deleted: boolean;
  /** The customer key it was counted under, when it was materialized and usable. */
  previousKey: string | null;
}

/**
 * Staged records of the sources that are new, changed or deleted since they were materialized.
 * From a change sequence (migration 010), only records changed at or after it are looked at;
 * from a staging time (before the first prepare that knew the sequence), those staged at or
 * after it. Either way through an index: the run reads what arrived since, not every event
 * ever staged. With neither, every staged record is compared.
 */
export async function listChangedEvents(
  db: Db,
  dataset: string,
  sources: string[],
  since: ChangesSince = { stagedAtMs: null },
): Promise<ChangedEvent[]> {
  return guarded('listChangedEvents', 'source_records/prepared_events', async () => {
    // SQLite has no statistics to prefer the range over the (source, key) index.
    const index = 'changeSeq' in since ? 'source_records_change_seq' : 'source_records_staged_at';
    const bounded = 'changeSeq' in since || since.stagedAtMs !== null;
    const table =
      !bounded || isPostgres(db)
        ? 'source_records as s'
        : db.raw(`?? AS s INDEXED BY ${index}`, ['source_records']);
    const query = db(table);
    if ('changeSeq' in since) query.where('s.change_seq', '>=', since.changeSeq);
    else if (since.stagedAtMs !== null) query.where('s.staged_at_ms', '>=', since.stagedAtMs);
    const rows = await query
      .leftJoin('prepared_events as p', function joinEvents() {
        this.on('p.record_id', '=', 's.id').andOn('p.dataset', '=', db.raw('?', [dataset]));
      })
      .whereIn('s.source', sources)
      .where((q) =>
        q
          .where((n) => n.whereNull('p.record_id').whereNull('s.deleted_at_ms'))
          .orWhere((c) =>
            c
              .whereNotNull('p.record_id')
              .where((d) =>
                d.whereRaw('p.content_hash <> s.content_hash').orWhereNotNull('s.deleted_at_ms'),
              ),
          ),
      )
      .orderBy('s.id')
      .select('s.id', 's.deleted_at_ms', 'p.customer_key', 'p.usable');
    return rows.map((r) => ({
      id: Number(r.id),
      deleted: r.deleted_at_ms !== null,
      previousKey:
        r.customer_key !== null && r.customer_key !== undefined && truthy(r.usable)
          ? r.customer_key
          : null,
    }));
  });
}

/** The staged payloads of the given records. */
export async function loadSourcePayloads(db: Db, ids: number[]) {
  return guarded('loadSourcePayloads', 'source_records', async () => {
    const out: Array<{
      id: number;
      source: string;
      recordKey: string;
      origin: string;
      values: Record<string, string>;
      contentHash: string;
    }> = [];
    // One statement per batch, the ids bound as one array (see store/bulk.ts).
    for (const part of chunk(ids, BULK_ROWS)) {
      const rows = await db('source_records')
        .where(inIds(db, 'id', part))
        .select('id', 'source', 'record_key', 'origin', 'payload', 'content_hash');
      for (const r of rows) {
        out.push({
          id: Number(r.id),
          source: r.source,
          recordKey: r.record_key,
          origin: r.origin,
          values: JSON.parse(r.payload),
          contentHash: r.content_hash,
        });
      }
    }
    return out.sort((a, b) => a.id - b.id);
  });
}

/** One materialized event row; `event` is null for an unusable record. */
export interface EventRow {
  recordId: number;
  contentHash: string;
  values: Record<string, string>;
  event: PreparedEvent | null;
}

/** Replaces the rows of the given records (and deletes those of `deletedIds`). */
export async function writeEvents(
  db: Db,
  dataset: string,
  rows: EventRow[],
  deletedIds: number[],
  opts: { fresh?: boolean } = {},
): Promise<void> {
  return guarded('writeEvents', 'prepared_events', async () => {
    // After deleteAllEvents there is nothing to replace: skipping the delete matters, because
    // on a table filled in the same transaction PostgreSQL had no statistics and scanned it.
    if (!opts.fresh) {
      for (const part of chunk([...rows.map((r) => r.recordId), ...deletedIds], IN_CHUNK)) {
        await db('prepared_events')
          .where({ dataset })
          .where(inIds(db, 'record_id', part))
          .delete();
      }
    }
    const columns = {
      dataset: 'text',
      record_id: 'integer',
      usable: 'boolean',
      customer_key: 'text',
      day: 'integer',
      at: 'text',
      amount: 'double precision',
      order_id: 'text',
      payload: 'text',
      content_hash: 'text',
    } as const;
    for (const part of chunk(rows, BULK_ROWS)) {
      await bulkInsert(
        db,
        'prepared_events',
        columns,
        part.map((r) => ({
          dataset,
          record_id: r.recordId,
          usable: r.event !== null,
          customer_key: r.event?.customerKey ?? '',
          day: r.event?.day ?? 0,
          at: r.event?.at ?? '',
          amount: r.event?.amount ?? null,
          order_id: r.event?.orderId ?? null,
          payload: JSON.stringify(r.values),
          content_hash: r.contentHash,
        })),
      );
    }
  });
}

export async function deleteAllEvents(db: Db, dataset: string): Promise<void> {
  return guarded('deleteAllEvents', 'prepared_events', async () => {
    await db('prepared_events').where({ dataset }).delete();
  });
}

/** Customer keys with an event dated in one of the ranges. */
export async function customersInRanges(
  db: Db,
  dataset: string,
  ranges: DayRange[],
): Promise<string[]> {
  return guarded('customersInRanges', 'prepared_events', async () => {
    if (ranges.length === 0) return [];
    const rows = await usableEvents(db, dataset)
      .where((q) => {
        for (const range of ranges)
          q.orWhere((r) => r.where('day', '>', range.after).where('day', '<=', range.upTo));
      })
      .distinct('customer_key');
    return rows.map((r) => r.customer_key as string);
  });
}

/** Which events columns the aggregate SQL reads from typed columns instead of the payload. */
export interface EventsShape {
  dataset: string;
  columns: EventColumns;
  /** Columns declared `number` in the events dataset's fields: min/max compare them as numbers. */
  numeric: ReadonlySet<string>;
}

/** One RFM scoring point: events dated in `(afterDay, upToDay]` (no lower bound when null). */
export interface RfmPoint {
  upToDay: number;
  afterDay: number | null;
}

/** What {@link aggregateLinkRows} gives per customer: computed values and RFM per point. */
export interface LinkAggregates {
  computed: Record<string, unknown>;
  /** By point index; a point without any event of the customer has no entry. */
  rfm: Array<Omit<RfmAggregate, 'customerKey'> | undefined>;
}

/** Ops a single GROUP BY computes with CASE; first and last need a window function each. */
const GROUPED_OPS = new Set<ComputedField['op']>(['count', 'distinct', 'sum', 'avg', 'min', 'max']);

/**
 * Every computed field and every RFM point of one link per customer key, from one scan of the
 * usable events up to `asOfDay`: each field's window and filter become a CASE inside its
 * aggregate, so a GROUP BY reads the events once instead of once per field (at 10 million
 * orders each scan costs seconds). first/last fields add one windowed query each. Customers of
 * `keys` only, or the whole dataset when `keys` is null. A field with no matching event is
 * null (count too; the caller writes 0 for it), as a separate query would give no row.
 */
export async function aggregateLinkRows(
  db: Db,
  shape: EventsShape,
  fields: ReadonlyArray<[string, ComputedField]>,
  rfm: { columns: { amount: string; orderId?: string }; points: RfmPoint[] } | undefined,
  asOfDay: number,
  scope: AggregateScope,
): Promise<Map<string, LinkAggregates>> {
  return guarded('aggregateLinkRows', 'prepared_events', async () => {
    const out = new Map<string, LinkAggregates>();
    const entry = (key: string) => {
      let found = out.get(key);
      if (!found) out.set(key, (found = { computed: {}, rfm: [] }));
      return found;
    };
    const grouped = fields.filter(([, f]) => GROUPED_OPS.has(f.op));
    const ranked = fields.filter(([, f]) => !GROUPED_OPS.has(f.op));
    const select: SqlPart[] = [];
    grouped.forEach(([, field], i) => select.push(groupedExpr(db, shape, field, asOfDay, `c${i}`)));
    for (const [i, point] of (rfm?.points ?? []).entries())
      select.push(...rfmExprs(db, shape, rfm!.columns, point, i));

    for (const part of scopeParts(scope)) {
      if (select.length > 0) {
        const { query, unit } = scopedEvents(db, shape.dataset, asOfDay, part);
        const rows = await query
          .groupBy(unit)
          .select(db.raw(`${unit} AS unit_key`), ...select.map((e) => db.raw(e.sql, e.bindings)));
        for (const row of rows) {
          const target = entry(row.unit_key as string);
          grouped.forEach(([name, field], i) => {
            const value = row[`c${i}`];
            // COUNT over no matching event is 0; a query of its own would have given no row.
            target.computed[name] = field.op === 'count' && Number(value) === 0 ? null : value;
          });
          (rfm?.points ?? []).forEach((_, i) => {
            if (Number(row[`r${i}_n`]) === 0) return;
            target.rfm[i] = {
              firstDay: Number(row[`r${i}_first`]),
              lastDay: Number(row[`r${i}_last`]),
              frequency: Number(row[`r${i}_orders`]) + Number(row[`r${i}_lines`]),
              monetary: Number(row[`r${i}_money`] ?? 0),
            };
          });
        }
      }
      for (const [name, field] of ranked) {
        for (const row of await computedQuery(db, shape, field, asOfDay, part)) {
          entry(row.unit_key).computed[name] = row.val;
        }
      }
    }
    return out;
  });
}

/** A first/last field per customer: the value of its first or last matching event. */
function computedQuery(
  db: Db,
  shape: EventsShape,
  field: ComputedField,
  asOfDay: number,
  part: ScopePart,
) {
  const { query: base, unit } = scopedEvents(db, shape.dataset, asOfDay, part);
  const cond = fieldCondition(db, shape, field, asOfDay);
  if (cond !== null) base.whereRaw(cond.sql, cond.bindings);
  const text = textExpr(db, shape, field.column ?? shape.columns.customer);
  const direction = field.op === 'first' ? 'ASC' : 'DESC';
  const by = field.by ?? shape.columns.date;
  const order: SqlPart =
    by === shape.columns.date ? { sql: 'day, at', bindings: [] } : textExpr(db, shape, by);
  const orderSql = order.sql
    .split(', ')
    .map((part) => `${part} ${direction}`)
    .join(', ');
  const ranked = base.select(
    db.raw(`${unit} AS unit_key`),
    db.raw(`${text.sql} AS val`, text.bindings),
    db.raw(
      `ROW_NUMBER() OVER (PARTITION BY ${unit} ORDER BY ${orderSql}, record_id ${direction}) AS rn`,
      order.bindings,
    ),
  );
  return db.from(ranked.as('ranked')).where('rn', 1).select('unit_key', 'val');
}

/** Customer keys per statement when only some customers are recomputed (one bound array). */
const KEY_CHUNK = 20_000;

/**
 * Whose aggregates to compute: customer keys (every customer's when null), or golden records
 * holding several keys, as (master id, key) pairs: those group the events of all their keys,
 * so an order is counted once per golden record whichever of its ids it was placed under.
 */
export type AggregateScope =
  { keys: string[] | null } | { groups: Array<[masterId: string, key: string]> };

type ScopePart = { keys: string[] | null } | { groups: Array<[string, string]> };

function scopeParts(scope: AggregateScope): ScopePart[] {
  if ('groups' in scope) return chunk(scope.groups, KEY_CHUNK).map((groups) => ({ groups }));
  if (scope.keys === null) return [{ keys: null }];
  return chunk(scope.keys, KEY_CHUNK).map((keys) => ({ keys }));
}

/**
 * The usable events up to `asOfDay` of one scope part, with the SQL naming each row's unit:
 * the customer key, or the master id of a (master, key) pair joined on the key.
 */
function scopedEvents(db: Db, dataset: string, asOfDay: number, part: ScopePart) {
  const query = usableEvents(db, dataset).where('day', '<=', asOfDay);
  if (!('groups' in part)) {
    if (part.keys !== null) query.where(inValues(db, 'customer_key', part.keys));
    return { query, unit: 'customer_key' };
  }
  const pairs = part.groups.map(([unit, key]) => ({ grp_unit: unit, grp_key: key }));
  const table = isPostgres(db)
    ? 'json_to_recordset(?::json) AS grp(grp_unit text, grp_key text)'
    : `(SELECT json_extract(value, '$.grp_unit') AS grp_unit, json_extract(value, '$.grp_key') AS grp_key
        FROM json_each(?)) AS grp`;
  query.joinRaw(`JOIN ${table} ON grp.grp_key = prepared_events.customer_key`, [
    JSON.stringify(pairs),
  ]);
  return { query, unit: 'grp.grp_unit' };
}

/** The condition of a field's window and filter, or null when it counts every event. */
function fieldCondition(
  db: Db,
  shape: EventsShape,
  field: ComputedField,
  asOfDay: number,
): SqlPart | null {
  const parts: SqlPart[] = [];
  if (field.window) parts.push({ sql: 'day > ?', bindings: [asOfDay - field.window.days] });
  if (field.where) {
    const where = field.where;
    const expr = textExpr(db, shape, where.column);
    if (where.blank !== undefined) {
      const blank = `(${expr.sql} IS NULL OR TRIM(${expr.sql}) = '')`;
      parts.push({
        sql: where.blank ? blank : `NOT ${blank}`,
        bindings: [...expr.bindings, ...expr.bindings],
      });
    } else {
      const allowed = (where.in ?? [where.equals!]).map((v) =>
        where.ignoreCase ? v.trim().toLowerCase() : v.trim(),
      );
      const folded = where.ignoreCase ? `LOWER(TRIM(${expr.sql}))` : `TRIM(${expr.sql})`;
      parts.push({
        sql: `${folded} IN (${allowed.map(() => '?').join(', ')})`,
        bindings: [...expr.bindings, ...allowed],
      });
    }
  }
  if (parts.length === 0) return null;
  return {
    sql: parts.map((p) => `(${p.sql})`).join(' AND '),
    bindings: parts.flatMap((p) => p.bindings),
  };
}

/** `CASE WHEN cond THEN expr END`, or the expression itself when there is no condition. */
function when(cond: SqlPart | null, expr: SqlPart): SqlPart {
  if (cond === null) return expr;
  return {
    sql: `CASE WHEN ${cond.sql} THEN ${expr.sql} END`,
    bindings: [...cond.bindings, ...expr.bindings],
  };
}

function groupedExpr(
  db: Db,
  shape: EventsShape,
  field: ComputedField,
  asOfDay: number,
  alias: string,
): SqlPart {
  const cond = fieldCondition(db, shape, field, asOfDay);
  const column = field.column ?? shape.columns.customer;
  const wrap = (fn: string, inner: SqlPart): SqlPart => ({
    sql: `${fn}(${inner.sql}) AS ${alias}`,
    bindings: inner.bindings,
  });
  switch (field.op) {
    case 'count':
      return wrap('COUNT', when(cond, { sql: '1', bindings: [] }));
    case 'distinct': {
      const text = textExpr(db, shape, column);
      const inner = when(cond, { sql: `NULLIF(TRIM(${text.sql}), '')`, bindings: text.bindings });
      return { sql: `COUNT(DISTINCT ${inner.sql}) AS ${alias}`, bindings: inner.bindings };
    }
    case 'sum':
    case 'avg':
      return wrap(field.op.toUpperCase(), when(cond, numberExpr(db, shape, column)));
    default: {
      const isNumber = column === shape.columns.amount || shape.numeric.has(column);
      return wrap(
        field.op.toUpperCase(),
        when(cond, isNumber ? numberExpr(db, shape, column) : textExpr(db, shape, column)),
      );
    }
  }
}

/**
 * RFM aggregates of one point as columns `r<i>_*`: lines sharing an order id count as one
 * order and lines without one count one each (as in domain/rfm/aggregate.ts), which is the
 * distinct order ids plus the lines without an id: no 'order:'/'line:' key is built per row.
 */
function rfmExprs(
  db: Db,
  shape: EventsShape,
  columns: { amount: string; orderId?: string },
  point: RfmPoint,
  i: number,
): SqlPart[] {
  const range: SqlPart =
    point.afterDay === null
      ? { sql: 'day <= ?', bindings: [point.upToDay] }
      : { sql: 'day <= ? AND day > ?', bindings: [point.upToDay, point.afterDay] };
  const amount = numberExpr(db, shape, columns.amount);
  // A negative amount is a refund: it counts in money, not as an order or as activity
  // (domain/rfm/aggregate.ts reads lines the same way).
  const bought: SqlPart = { sql: `COALESCE(${amount.sql}, 0) >= 0`, bindings: amount.bindings };
  const order: SqlPart = columns.orderId
    ? (() => {
        const text = textExpr(db, shape, columns.orderId!);
        return { sql: `NULLIF(TRIM(${text.sql}), '')`, bindings: text.bindings };
      })()
    : { sql: 'NULL', bindings: [] };
  const purchase: SqlPart = {
    sql: `${range.sql} AND ${bought.sql}`,
    bindings: [...range.bindings, ...bought.bindings],
  };
  const agg = (fn: string, inner: SqlPart, alias: string, cond: SqlPart = purchase): SqlPart => {
    const body = when(cond, inner);
    return { sql: `${fn}(${body.sql}) AS r${i}_${alias}`, bindings: body.bindings };
  };
  const distinct = when(purchase, order);
  return [
    agg('COUNT', { sql: '1', bindings: [] }, 'n'),
    agg('MIN', { sql: 'day', bindings: [] }, 'first'),
    agg('MAX', { sql: 'day', bindings: [] }, 'last'),
    { sql: `COUNT(DISTINCT ${distinct.sql}) AS r${i}_orders`, bindings: distinct.bindings },
    agg(
      'COUNT',
      { sql: `CASE WHEN ${order.sql} IS NULL THEN 1 END`, bindings: order.bindings },
      'lines',
    ),
    agg('SUM', { sql: `COALESCE(${amount.sql}, 0)`, bindings: amount.bindings }, 'money', range),
  ];
}

/** Stored aggregates of one link: customer key → JSON-ready values. */
export async function loadAggregates(
  db: Db,
  dataset: string,
  link: string,
): Promise<Map<string, AggregateValues>> {
  return guarded('loadAggregates', 'prepared_aggregates', async () => {
    const rows = await db('prepared_aggregates')
      .where({ dataset, link })
      .select('customer_key', 'vals');
    return new Map(
      rows.map((r) => [r.customer_key as string, JSON.parse(r.vals) as AggregateValues]),
    );
  });
}

/** What is kept per customer and link: computed values and RFM aggregates by look-back. */
export interface AggregateValues {
  computed: Record<string, string | null>;
  rfm?: Record<string, Omit<RfmAggregate, 'customerKey'>>;
}

/** Replaces the aggregates of `keys` (all of the link's when null) with `values`. */
export async function replaceAggregates(
  db: Db,
  dataset: string,
  link: string,
  keys: string[] | null,
  values: Map<string, AggregateValues>,
): Promise<void> {
  return guarded('replaceAggregates', 'prepared_aggregates', async () => {
    const columns = { dataset: 'text', link: 'text', customer_key: 'text', vals: 'text' } as const;
    const rows = [...values].map(([key, vals]) => ({
      dataset,
      link,
      customer_key: key,
      vals: JSON.stringify(vals),
    }));
    if (keys === null) {
      await db('prepared_aggregates').where({ dataset, link }).delete();
      for (const part of chunk(rows, BULK_ROWS))
        await bulkInsert(db, 'prepared_aggregates', columns, part);
      return;
    }
    // Updated in place; only customers left without any event lose their row.
    for (const part of chunk(rows, BULK_ROWS)) {
      await upsertRows(
        db,
        'prepared_aggregates',
        columns,
        ['dataset', 'link', 'customer_key'],
        ['vals'],
        part,
      );
    }
    for (const part of chunk(
      keys.filter((key) => !values.has(key)),
      IN_CHUNK,
    )) {
      await db('prepared_aggregates')
        .where({ dataset, link })
        .whereIn('customer_key', part)
        .delete();
    }
  });
}

/**
 * Inserts rows, updating the `update` columns of those whose key is already there: one
 * statement per batch, the rows in one JSON parameter as in store/bulk.ts. Deleting then
 * inserting them cost PostgreSQL 40 s of a 10-million-order incremental run (a rescoring
 * changes many records), each DELETE of a key list planned without statistics on a table
 * written in bulk.
 */
async function upsertRows(
  db: Db,
  table: string,
  columns: Record<string, ColumnType>,
  key: string[],
  update: string[],
  rows: Array<Record<string, string | number | boolean | null>>,
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  const list = names.map((n) => `"${n}"`).join(', ');
  const set = update.map((n) => `"${n}" = excluded."${n}"`).join(', ');
  const conflict = `ON CONFLICT (${key.map((k) => `"${k}"`).join(', ')}) DO UPDATE SET ${set}`;
  if (isPostgres(db)) {
    const types = names.map((n) => `"${n}" ${columns[n]}`).join(', ');
    await db.raw(
      `INSERT INTO "${table}" (${list}) SELECT ${list} FROM json_to_recordset(?::json) AS x(${types}) ${conflict}`,
      [JSON.stringify(rows)],
    );
    return;
  }
  const picks = names.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
  const packed = rows.map((row) => names.map((n) => row[n] ?? null));
  // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
  await db.raw(
    `INSERT INTO "${table}" (${list}) SELECT ${picks} FROM json_each(?) WHERE true ${conflict}`,
    [JSON.stringify(packed)],
  );
}

/** Hash of every prepared record of a dataset, by master id. */
export async function loadPreparedHashes(db: Db, dataset: string): Promise<Map<string, string>> {
  return guarded('loadPreparedHashes', 'prepared_records', async () => {
    const rows = await db('prepared_records').where({ dataset }).select('master_id', 'hash');
    return new Map(rows.map((r) => [r.master_id as string, r.hash as string]));
  });
}

export interface PreparedRow {
  masterId: string;
  attributes: string;
  hash: string;
}

export async function writePrepared(
  db: Db,
  dataset: string,
  rows: PreparedRow[],
  removed: string[],
  nowMs: number,
  opts: { fresh?: boolean } = {},
): Promise<void> {
  return guarded('writePrepared', 'prepared_records', async () => {
    const columns = {
      dataset: 'text',
      master_id: 'text',
      attributes: 'text',
      hash: 'text',
      updated_at_ms: 'bigint',
    } as const;
    const inserts = rows.map((r) => ({
      dataset,
      master_id: r.masterId,
      attributes: r.attributes,
      hash: r.hash,
      updated_at_ms: nowMs,
    }));
    for (const part of chunk(inserts, BULK_ROWS)) {
      // Nothing stored yet: plain inserts. Otherwise changed rows are updated in place.
      if (opts.fresh) await bulkInsert(db, 'prepared_records', columns, part);
      else
        await upsertRows(
          db,
          'prepared_records',
          columns,
          ['dataset', 'master_id'],
          ['attributes', 'hash', 'updated_at_ms'],
          part,
        );
    }
    for (const part of chunk(removed, IN_CHUNK)) {
      await db('prepared_records').where({ dataset }).whereIn('master_id', part).delete();
    }
  });
}

/**
 * The records plan sends: golden attributes after recipes, with computed fields and scores.
 * A dataset never prepared (a run started before the prepare step existed) falls back to its
 * golden records as they are.
 */
export async function loadPreparedRecords(db: Knex, dataset: string): Promise<GoldenRecord[]> {
  return guarded('loadPreparedRecords', 'prepared_records', async () => {
    if (!(await getPreparedState(db, dataset))) return loadGoldenRecords(db, dataset);
    const rows = await db('prepared_records as p')
      .join('golden_records as g', 'g.master_id', 'p.master_id')
      .where({ 'p.dataset': dataset, 'g.status': 'active' })
      .orderBy('g.id')
      .select('p.master_id', 'p.attributes', 'g.source_keys');
    return rows.map((r) => ({
      masterId: r.master_id,
      attributes: JSON.parse(r.attributes),
      sourceKeys: JSON.parse(r.source_keys),
    }));
  });
}

function usableEvents(db: Db, dataset: string) {
  return db('prepared_events').where({ dataset, usable: true });
}

interface SqlPart {
  sql: string;
  bindings: Knex.RawBinding[];
}

/** A column as text: a typed column when the events declare it, else the payload's value. */
function textExpr(db: Db, shape: EventsShape, column: string): SqlPart {
  const { columns } = shape;
  if (column === columns.customer) return { sql: 'customer_key', bindings: [] };
  if (column === columns.date) return { sql: 'at', bindings: [] };
  if (column === columns.orderId) return { sql: 'order_id', bindings: [] };
  if (isPostgres(db)) return { sql: '(payload::jsonb ->> ?)', bindings: [column] };
  return { sql: 'json_extract(payload, ?)', bindings: [`$."${column.replace(/"/g, '\\"')}"`] };
}

/**
 * A column as a number. Payload values are text; PostgreSQL casts only what looks like a
 * number (a bad cast would fail the query), SQLite casts leniently. Declare such columns
 * `number` in the events dataset's fields so malformed values are rejected when staged.
 */
function numberExpr(db: Db, shape: EventsShape, column: string): SqlPart {
  if (column === shape.columns.amount) return { sql: 'amount', bindings: [] };
  const text = textExpr(db, shape, column);
  if (isPostgres(db)) {
    const pattern = '^\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*$';
    return {
      sql: `(CASE WHEN ${text.sql} ~ ? THEN (${text.sql})::double precision END)`,
      bindings: [...text.bindings, pattern, ...text.bindings],
    };
  }
  return { sql: `CAST(NULLIF(TRIM(${text.sql}), '') AS REAL)`, bindings: text.bindings };
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

/**
 * Materializes every live staged record of the sources into prepared_events in one INSERT ...
 * SELECT, for an events dataset without source-level recipes (its values are the payload as
 * staged). The database reads the declared columns out of the JSON and takes the rows whose
 * values toEvent (domain/computed/events.ts) would read the same way: a customer key and an
 * order id without surrounding space (ASCII at both ends), a real `YYYY-MM-DD` day from year
 * 1000 on, an amount that is blank or a plain decimal. Every other row is written as a
 * placeholder (content hash '', no customer, day 0), which {@link listEventPlaceholders} finds
 * through the customer index, for the caller to read in JavaScript and replace. Returns the
 * rows written, placeholders included.
 */
export async function insertEventsInSql(
  db: Db,
  dataset: string,
  sources: string[],
  columns: EventColumns,
): Promise<number> {
  return guarded('insertEventsInSql', 'prepared_events', async () => {
    const pg = isPostgres(db);
    const path = (column: string) => `$."${column.replace(/"/g, '\\"')}"`;
    // Each declared column's value (SQL text for a JSON string) and its JSON type, named the
    // way SQLite's json_type does ('text', 'null', ...).
    const read = (column: string | undefined, name: string): SqlPart[] => {
      if (column === undefined)
        return [{ sql: `NULL AS ${name}, NULL AS ${name}_type`, bindings: [] }];
      if (!pg) {
        return [
          {
            sql: `json_extract(payload, ?) AS ${name}, json_type(payload, ?) AS ${name}_type`,
            bindings: [path(column), path(column)],
          },
        ];
      }
      const type = `CASE jsonb_typeof(j -> ?) WHEN 'string' THEN 'text' WHEN 'null' THEN 'null' ELSE 'other' END`;
      return [{ sql: `j ->> ? AS ${name}, ${type} AS ${name}_type`, bindings: [column, column] }];
    };
    const values = [
      ...read(columns.customer, 'c'),
      ...read(columns.date, 'd'),
      ...read(columns.amount, 'a'),
      ...read(columns.orderId, 'o'),
    ];
    const sourceList = pg
      ? {
          sql: 'SELECT unnest(?::text[])',
          binding: `{${sources.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`,
        }
      : { sql: 'SELECT value FROM json_each(?)', binding: JSON.stringify(sources) };
    // OFFSET 0 keeps each subquery whole: flattened, every use of a value would read it out
    // of the JSON again (tens of reads per row instead of eight; twice the time).
    const keep = pg ? 'OFFSET 0' : 'LIMIT -1 OFFSET 0';
    const staged = `(SELECT id, payload, content_hash${pg ? ', payload::jsonb AS j' : ''} FROM source_records
      WHERE source IN (${sourceList.sql}) AND deleted_at_ms IS NULL ${keep}) s`;

    // Printable ASCII at both ends: nothing JavaScript's trim() would remove.
    const tidy = (x: string) =>
      pg
        ? `ascii(${x}) BETWEEN 33 AND 126 AND ascii(right(${x}, 1)) BETWEEN 33 AND 126`
        : `unicode(${x}) BETWEEN 33 AND 126 AND unicode(substr(${x}, -1)) BETWEEN 33 AND 126`;
    // PostgreSQL cannot test a cast without failing the statement, so the calendar is spelled
    // out; the CASE keeps the casts away from text that is not digits.
    const month = 'substr(d, 6, 2)::int';
    const year = 'substr(d, 1, 4)::int';
    const realDay = pg
      ? `CASE WHEN d ~ '^[1-9][0-9]{3}-[0-1][0-9]-[0-3][0-9]$' THEN
           ${month} BETWEEN 1 AND 12 AND substr(d, 9, 2)::int BETWEEN 1 AND
           CASE WHEN ${month} = 2 THEN
             CASE WHEN (${year} % 4 = 0 AND ${year} % 100 <> 0) OR ${year} % 400 = 0 THEN 29 ELSE 28 END
           ELSE 30 + (${month} + ${month} / 8) % 2 END
         ELSE false END`
      : `d GLOB '[1-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' AND date(d) = d`;
    // `\\?` is a literal question mark for knex, not a binding.
    const decimal = pg
      ? `a ~ '^-\\?[0-9]+(\\.[0-9]+)\\?$'`
      : `(a GLOB '[0-9]*' OR a GLOB '-[0-9]*') AND substr(a, 2) NOT GLOB '*[^0-9.]*'
         AND a NOT GLOB '*.*.*' AND a NOT GLOB '*.'`;
    const amountOk =
      columns.amount === undefined
        ? 'a IS NULL'
        : `(a IS NULL OR (a_type = 'text' AND (a = '' OR (length(a) <= 20 AND ${decimal}))))`;
    const orderOk = `(o IS NULL OR (o_type = 'text' AND (o = '' OR (${tidy('o')}))))`;
    const fast = `c_type = 'text' AND ${tidy('c')} AND d_type = 'text' AND ${realDay} AND ${amountOk} AND ${orderOk}`;
    const day = pg ? `(d::date - DATE '1970-01-01')` : 'CAST(julianday(d) - 2440587.5 AS INTEGER)';
    const amount = pg ? 'a::double precision' : 'CAST(a AS REAL)';
    const [yes, no] = pg ? ['true', 'false'] : ['1', '0'];
    const sql = `
      INSERT INTO prepared_events (dataset, record_id, usable, customer_key, day, at, amount,
        order_id, payload, content_hash)
      SELECT ?, id, CASE WHEN ok THEN ${yes} ELSE ${no} END, CASE WHEN ok THEN c ELSE '' END,
        CASE WHEN ok THEN ${day} ELSE 0 END, CASE WHEN ok THEN d ELSE '' END,
        CASE WHEN ok AND a <> '' THEN ${amount} END, CASE WHEN ok THEN NULLIF(o, '') END,
        payload, CASE WHEN ok THEN content_hash ELSE '' END
      FROM (SELECT id, payload, content_hash, c, d, a, o, COALESCE(${fast}, ${no}) AS ok
            FROM (SELECT id, payload, content_hash, ${values.map((v) => v.sql).join(', ')}
                  FROM ${staged} ${keep}) v ${keep}) w`;
    const bindings = [dataset, ...values.flatMap((v) => v.bindings), sourceList.binding];
    // Millions of rows in customer order would be random inserts into the indexes; building
    // them afterwards sorts once (half the time at a million rows, and it grows with size).
    // Same names and columns as migration 005; inside the transaction, so a failure keeps them.
    for (const index of EVENT_INDEXES) await db.raw(`DROP INDEX ${index.name}`);
    const result = await db.raw(sql, bindings);
    for (const index of EVENT_INDEXES) {
      await db.raw(`CREATE INDEX ${index.name} ON prepared_events (${index.columns})`);
    }
    return pg ? Number(result.rowCount) : Number((result as { changes?: number }).changes ?? 0);
  });
}

/** The secondary indexes of prepared_events (store/migrations/005-prepared.ts). */
const EVENT_INDEXES = [
  { name: 'prepared_events_customer', columns: 'dataset, customer_key, day' },
  { name: 'prepared_events_day', columns: 'dataset, day' },
];

/** Record ids of the placeholders {@link insertEventsInSql} left for JavaScript, in id order. */
export async function listEventPlaceholders(db: Db, dataset: string): Promise<number[]> {
  return guarded('listEventPlaceholders', 'prepared_events', async () => {
    const rows = await db('prepared_events')
      .where({ dataset, usable: false, customer_key: '', day: 0, content_hash: '' })
      .orderBy('record_id')
      .select('record_id');
    return rows.map((r) => Number(r.record_id));
  });
}
