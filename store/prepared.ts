import type { Knex } from 'knex';

import type { ComputedField, EventColumns } from '../config/datasets/links';
import type { DayRange } from '../domain/computed/cutoffs';
import type { PreparedEvent } from '../domain/computed/events';
import type { RfmAggregate } from '../domain/computed/rfm-fields';
import { SyncError } from '../connectors/errors';
import { chunk } from '../domain/diff';
import { bulkInsert, inIds } from './bulk';
import { isPostgres } from './db';
import { loadGoldenRecords, type GoldenRecord } from './identity';

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
/** Rows per multi-row INSERT (SQLite allows 32,766 bound values; 12 columns a row at most). */
const INSERT_ROWS = 400;

export interface PreparedState {
  configHash: string;
  asOfDay: number | null;
}

export async function getPreparedState(db: Db, dataset: string): Promise<PreparedState | undefined> {
  return guarded('getPreparedState', 'prepared_state', async () => {
    const row = await db('prepared_state').where({ dataset }).first('config_hash', 'as_of_day');
    if (!row) return undefined;
    return { configHash: row.config_hash, asOfDay: row.as_of_day === null ? null : Number(row.as_of_day) };
  });
}

export async function setPreparedState(db: Db, dataset: string, state: PreparedState, nowMs: number): Promise<void> {
  return guarded('setPreparedState', 'prepared_state', async () => {
    await db('prepared_state')
      .insert({ dataset, config_hash: state.configHash, as_of_day: state.asOfDay, updated_at_ms: nowMs })
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

/** Staged records of the sources that are new, changed or deleted since they were materialized. */
export async function listChangedEvents(db: Db, dataset: string, sources: string[]): Promise<ChangedEvent[]> {
  return guarded('listChangedEvents', 'source_records/prepared_events', async () => {
    const rows = await db('source_records as s')
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
              .where((d) => d.whereRaw('p.content_hash <> s.content_hash').orWhereNotNull('s.deleted_at_ms')),
          ),
      )
      .orderBy('s.id')
      .select('s.id', 's.deleted_at_ms', 'p.customer_key', 'p.usable');
    return rows.map((r) => ({
      id: Number(r.id),
      deleted: r.deleted_at_ms !== null,
      previousKey: r.customer_key !== null && r.customer_key !== undefined && truthy(r.usable) ? r.customer_key : null,
    }));
  });
}

/** The staged payloads of the given records. */
export async function loadSourcePayloads(db: Db, ids: number[]) {
  return guarded('loadSourcePayloads', 'source_records', async () => {
    const out: Array<{ id: number; source: string; recordKey: string; origin: string; values: Record<string, string>; contentHash: string }> = [];
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
        await db('prepared_events').where({ dataset }).where(inIds(db, 'record_id', part)).delete();
      }
    }
    const columns = {
      dataset: 'text', record_id: 'integer', usable: 'boolean', customer_key: 'text', day: 'integer',
      at: 'text', amount: 'double precision', order_id: 'text', payload: 'text', content_hash: 'text',
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
export async function customersInRanges(db: Db, dataset: string, ranges: DayRange[]): Promise<string[]> {
  return guarded('customersInRanges', 'prepared_events', async () => {
    if (ranges.length === 0) return [];
    const rows = await usableEvents(db, dataset)
      .where((q) => {
        for (const range of ranges) q.orWhere((r) => r.where('day', '>', range.after).where('day', '<=', range.upTo));
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

/**
 * Computed fields per customer key, aggregated in SQL over the usable events up to `asOfDay`:
 * every customer of `keys`, or of the whole dataset when `keys` is null. A customer without a
 * matching event gets no entry for that field (count and sum give no row rather than 0).
 */
export async function aggregateComputed(
  db: Db,
  shape: EventsShape,
  fields: ReadonlyArray<[string, ComputedField]>,
  asOfDay: number,
  keys: string[] | null,
): Promise<Map<string, Record<string, unknown>>> {
  return guarded('aggregateComputed', 'prepared_events', async () => {
    const out = new Map<string, Record<string, unknown>>();
    for (const part of keys === null ? [null] : chunk(keys, IN_CHUNK)) {
      if (part !== null && part.length === 0) continue;
      for (const [name, field] of fields) {
        const rows = await computedQuery(db, shape, field, asOfDay, part);
        for (const row of rows) {
          const entry = out.get(row.customer_key) ?? {};
          entry[name] = row.val;
          out.set(row.customer_key, entry);
        }
      }
    }
    return out;
  });
}

function computedQuery(db: Db, shape: EventsShape, field: ComputedField, asOfDay: number, keys: string[] | null) {
  const base = usableEvents(db, shape.dataset).where('day', '<=', asOfDay);
  if (keys !== null) base.whereIn('customer_key', keys);
  if (field.window) base.where('day', '>', asOfDay - field.window.days);
  if (field.where) {
    const where = field.where;
    const expr = textExpr(db, shape, where.column);
    if (where.blank !== undefined) {
      const blank = `(${expr.sql} IS NULL OR TRIM(${expr.sql}) = '')`;
      base.whereRaw(where.blank ? blank : `NOT ${blank}`, [...expr.bindings, ...expr.bindings]);
    } else {
      const allowed = (where.in ?? [where.equals!]).map((v) => (where.ignoreCase ? v.trim().toLowerCase() : v.trim()));
      const folded = where.ignoreCase ? `LOWER(TRIM(${expr.sql}))` : `TRIM(${expr.sql})`;
      base.whereRaw(`${folded} IN (${allowed.map(() => '?').join(', ')})`, [...expr.bindings, ...allowed]);
    }
  }

  const column = field.column ?? shape.columns.customer;
  const text = textExpr(db, shape, column);
  const numeric = numberExpr(db, shape, column);
  switch (field.op) {
    case 'count':
      return base.groupBy('customer_key').select('customer_key', db.raw('COUNT(*) AS val'));
    case 'distinct':
      return base
        .groupBy('customer_key')
        .select('customer_key', db.raw(`COUNT(DISTINCT NULLIF(TRIM(${text.sql}), '')) AS val`, text.bindings));
    case 'sum':
    case 'avg':
      return base
        .groupBy('customer_key')
        .select('customer_key', db.raw(`${field.op.toUpperCase()}(${numeric.sql}) AS val`, numeric.bindings));
    case 'min':
    case 'max': {
      const isNumber = column === shape.columns.amount || shape.numeric.has(column);
      const expr = isNumber ? numeric : text;
      return base
        .groupBy('customer_key')
        .select('customer_key', db.raw(`${field.op.toUpperCase()}(${expr.sql}) AS val`, expr.bindings));
    }
    case 'first':
    case 'last': {
      const direction = field.op === 'first' ? 'ASC' : 'DESC';
      const by = field.by ?? shape.columns.date;
      const order: SqlPart = by === shape.columns.date ? { sql: 'day, at', bindings: [] } : textExpr(db, shape, by);
      const orderSql = order.sql.split(', ').map((part) => `${part} ${direction}`).join(', ');
      const ranked = base.select(
        'customer_key',
        db.raw(`${text.sql} AS val`, text.bindings),
        db.raw(
          `ROW_NUMBER() OVER (PARTITION BY customer_key ORDER BY ${orderSql}, record_id ${direction}) AS rn`,
          order.bindings,
        ),
      );
      return db.from(ranked.as('ranked')).where('rn', 1).select('customer_key', 'val');
    }
  }
}

/**
 * RFM aggregates per customer from the usable events dated in `(afterDay, upToDay]` (no lower
 * bound when `afterDay` is null): lines sharing an order id count as one order, lines without
 * one count one each, as in domain/rfm/aggregate.ts.
 */
export async function aggregateRfm(
  db: Db,
  shape: EventsShape,
  columns: { amount: string; orderId?: string },
  upToDay: number,
  afterDay: number | null,
  keys: string[] | null,
): Promise<RfmAggregate[]> {
  return guarded('aggregateRfm', 'prepared_events', async () => {
    const amount = numberExpr(db, shape, columns.amount);
    const order: SqlPart = columns.orderId ? textExpr(db, shape, columns.orderId) : { sql: 'NULL', bindings: [] };
    const out: RfmAggregate[] = [];
    for (const part of keys === null ? [null] : chunk(keys, IN_CHUNK)) {
      if (part !== null && part.length === 0) continue;
      const query = usableEvents(db, shape.dataset).where('day', '<=', upToDay);
      if (afterDay !== null) query.where('day', '>', afterDay);
      if (part !== null) query.whereIn('customer_key', part);
      const orderKey =
        `CASE WHEN NULLIF(TRIM(${order.sql}), '') IS NULL THEN ${concat(db, "'line:'", 'CAST(record_id AS TEXT)')} ` +
        `ELSE ${concat(db, "'order:'", `TRIM(${order.sql})`)} END`;
      const rows = await query
        .groupBy('customer_key')
        .select(
          'customer_key',
          db.raw('MIN(day) AS first_day'),
          db.raw('MAX(day) AS last_day'),
          db.raw(`COUNT(DISTINCT ${orderKey}) AS frequency`, [...order.bindings, ...order.bindings]),
          db.raw(`SUM(COALESCE(${amount.sql}, 0)) AS monetary`, amount.bindings),
        );
      for (const r of rows) {
        out.push({
          customerKey: r.customer_key,
          firstDay: Number(r.first_day),
          lastDay: Number(r.last_day),
          frequency: Number(r.frequency),
          monetary: Number(r.monetary),
        });
      }
    }
    return out;
  });
}

/** Stored aggregates of one link: customer key → JSON-ready values. */
export async function loadAggregates(db: Db, dataset: string, link: string): Promise<Map<string, AggregateValues>> {
  return guarded('loadAggregates', 'prepared_aggregates', async () => {
    const rows = await db('prepared_aggregates').where({ dataset, link }).select('customer_key', 'vals');
    return new Map(rows.map((r) => [r.customer_key as string, JSON.parse(r.vals) as AggregateValues]));
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
    if (keys === null) await db('prepared_aggregates').where({ dataset, link }).delete();
    else {
      for (const part of chunk(keys, IN_CHUNK)) {
        await db('prepared_aggregates').where({ dataset, link }).whereIn('customer_key', part).delete();
      }
    }
    const rows = [...values].map(([key, vals]) => ({ dataset, link, customer_key: key, vals: JSON.stringify(vals) }));
    for (const part of chunk(rows, INSERT_ROWS)) await db('prepared_aggregates').insert(part);
  });
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
): Promise<void> {
  return guarded('writePrepared', 'prepared_records', async () => {
    for (const part of chunk([...rows.map((r) => r.masterId), ...removed], IN_CHUNK)) {
      await db('prepared_records').where({ dataset }).whereIn('master_id', part).delete();
    }
    const inserts = rows.map((r) => ({
      dataset,
      master_id: r.masterId,
      attributes: r.attributes,
      hash: r.hash,
      updated_at_ms: nowMs,
    }));
    for (const part of chunk(inserts, INSERT_ROWS)) await db('prepared_records').insert(part);
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

function concat(_db: Db, a: string, b: string): string {
  return `(${a} || ${b})`;
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}
