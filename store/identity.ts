import type { Knex } from 'knex';
import { chunk } from '../domain/diff';
import { bulkInsert, bulkUpdate, inIds, inValues } from './bulk';
import { isPostgres } from './db';

type Db = Knex | Knex.Transaction;

/** Ids per lookup statement (bound as one JSON parameter, see store/bulk.ts). */
const IN_CHUNK = 10000;
/** Rows per bulk INSERT statement. */
const INSERT_ROWS = 10000;

/** One staged source record as the identity engine reads it. */
export interface IdentitySourceRow {
  id: number;
  source: string;
  recordKey: string;
  values: Record<string, string>;
  contentHash: string;
  recencyMs: number;
}

export interface KeyRow {
  recordId: number;
  key: string;
  value: string;
  kind: string;
}

export interface IdentityState {
  rulesHash: string;
  /** The newest staging time among the records the last unify saw. */
  stagedUntilMs: number | null;
}

export async function getIdentityState(db: Db, dataset: string): Promise<IdentityState | undefined> {
  const row = await db('identity_state').where({ dataset }).first('rules_hash', 'staged_until_ms');
  if (!row) return undefined;
  return {
    rulesHash: row.rules_hash,
    stagedUntilMs: row.staged_until_ms === null ? null : Number(row.staged_until_ms),
  };
}

/**
 * Saves the rules' hash and the newest staging time the unify saw: given (the newest among the
 * changed records an incremental run read), or looked up over the sources after a rebuild.
 */
export async function setIdentityState(
  db: Db,
  dataset: string,
  sources: string[],
  hash: string,
  nowMs: number,
  stagedUntilMs?: number | null,
): Promise<void> {
  let stagedUntil = stagedUntilMs ?? null;
  if (stagedUntilMs === undefined) {
    const newest = await db('source_records').whereIn('source', sources).max({ max: 'staged_at_ms' }).first();
    stagedUntil = newest?.max === null || newest?.max === undefined ? null : Number(newest.max);
  }
  await db('identity_state')
    .insert({ dataset, rules_hash: hash, updated_at_ms: nowMs, staged_until_ms: stagedUntil })
    .onConflict('dataset')
    .merge();
}

/**
 * Records whose identity may have changed since the last unify: never unified, changed content,
 * or deleted at the source while still a member.
 */
export async function listChangedRecords(
  db: Db,
  dataset: string,
  sources: string[],
  stagedSinceMs: number | null,
): Promise<Array<{ id: number; deleted: boolean; stagedAtMs: number }>> {
  const query = db('source_records as s');
  if (stagedSinceMs !== null) query.where('s.staged_at_ms', '>=', stagedSinceMs);
  const rows = await query
    .leftJoin('identity_members as m', function joinMembers() {
      this.on('m.record_id', '=', 's.id').andOn('m.dataset', '=', db.raw('?', [dataset]));
    })
    .whereIn('s.source', sources)
    .where((q) =>
      q
        .where((n) => n.whereNull('m.record_id').whereNull('s.deleted_at_ms'))
        .orWhere((c) =>
          c
            .whereNotNull('m.record_id')
            .where((d) => d.whereRaw('m.content_hash <> s.content_hash').orWhereNotNull('s.deleted_at_ms')),
        ),
    )
    .orderBy('s.id')
    .select('s.id', 's.deleted_at_ms', 's.staged_at_ms');
  return rows.map((r) => ({ id: Number(r.id), deleted: r.deleted_at_ms !== null, stagedAtMs: Number(r.staged_at_ms) }));
}

/** Live (not deleted) record ids of the sources after `afterId`, in id order. */
export async function pageLiveRecordIds(db: Db, sources: string[], afterId: number, limit: number): Promise<number[]> {
  // Walk the primary key: SQLite would otherwise pick the (source, record_key) index and sort
  // the whole source for every page.
  const table = isPostgres(db) ? 'source_records' : db.raw('?? NOT INDEXED', ['source_records']);
  const rows = await db(table)
    .whereIn('source', sources)
    .whereNull('deleted_at_ms')
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .select('id');
  return rows.map((r) => Number(r.id));
}

/** The given records with their payload, in id order. */
export async function loadIdentityRows(db: Db, ids: ArrayLike<number>): Promise<IdentitySourceRow[]> {
  const out: IdentitySourceRow[] = [];
  for (const part of chunk(Array.from(ids), IN_CHUNK)) {
    const rows = await db('source_records as s')
      .where(inIds(db, 's.id', part))
      .select('s.id', 's.source', 's.record_key', 's.payload', 's.content_hash', 's.source_updated_at_ms', 's.staged_at_ms');
    for (const r of rows) {
      out.push({
        id: Number(r.id),
        source: r.source,
        recordKey: r.record_key,
        values: JSON.parse(r.payload),
        contentHash: r.content_hash,
        recencyMs: Number(r.source_updated_at_ms ?? r.staged_at_ms),
      });
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Previous golden id of each record (null when none), for the given ids. */
export async function loadPreviousGolden(db: Db, dataset: string, ids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const part of chunk(ids, IN_CHUNK)) {
    const rows = await db('identity_members')
      .where({ dataset })
      .where(inIds(db, 'record_id', part))
      .whereNotNull('golden_id')
      .select('record_id', 'golden_id');
    for (const r of rows) out.set(Number(r.record_id), Number(r.golden_id));
  }
  return out;
}

export async function deleteKeys(db: Db, dataset: string, recordIds?: number[]): Promise<void> {
  if (!recordIds) {
    await db('identity_keys').where({ dataset }).delete();
    return;
  }
  for (const part of chunk(recordIds, IN_CHUNK)) {
    await db('identity_keys').where({ dataset }).where(inIds(db, 'record_id', part)).delete();
  }
}

export async function insertKeys(db: Db, dataset: string, rows: KeyRow[]): Promise<void> {
  const columns = { dataset: 'text', key_name: 'text', value: 'text', record_id: 'integer', kind: 'text' } as const;
  for (const part of chunk(rows, INSERT_ROWS)) {
    await bulkInsert(
      db,
      'identity_keys',
      columns,
      part.map((r) => ({ dataset, key_name: r.key, value: r.value, record_id: r.recordId, kind: r.kind })),
    );
  }
}

/**
 * Index rows in (key, value, record) order after the given position: the full rebuild walks the
 * whole index this way, page by page, holding only one page in memory.
 */
export async function scanKeys(
  db: Db,
  dataset: string,
  after: { key: string; value: string; recordId: number } | null,
  limit: number,
): Promise<KeyRow[]> {
  const query = db('identity_keys').where({ dataset });
  // A row-value comparison lets both databases seek in the covering index; the equivalent OR
  // of three conditions made SQLite rescan the dataset's index from its start for every page.
  if (after) query.whereRaw('(key_name, value, record_id) > (?, ?, ?)', [after.key, after.value, after.recordId]);
  const rows = await query
    .orderBy([{ column: 'key_name' }, { column: 'value' }, { column: 'record_id' }])
    .limit(limit)
    .select('key_name', 'value', 'record_id');
  return rows.map((r) => ({ recordId: Number(r.record_id), key: r.key_name, value: r.value, kind: '' }));
}

export async function keysOfRecords(db: Db, dataset: string, ids: number[]): Promise<KeyRow[]> {
  const out: KeyRow[] = [];
  for (const part of chunk(ids, IN_CHUNK)) {
    const rows = await db('identity_keys')
      .where({ dataset })
      .where(inIds(db, 'record_id', part))
      .select('key_name', 'value', 'record_id', 'kind');
    for (const r of rows) out.push({ recordId: Number(r.record_id), key: r.key_name, value: r.value, kind: r.kind });
  }
  return out;
}

/** Records indexed under any of the given values of one key. */
export async function recordsWithValues(db: Db, dataset: string, key: string, values: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const part of chunk(values, IN_CHUNK)) {
    const rows = await db('identity_keys')
      .where({ dataset, key_name: key })
      .where(inValues(db, 'value', part))
      .select('record_id');
    for (const r of rows) out.push(Number(r.record_id));
  }
  return out;
}

/** Member record ids of the given golden records. */
export async function membersOfGolden(db: Db, dataset: string, goldenIds: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const part of chunk(goldenIds, IN_CHUNK)) {
    const rows = await db('identity_members').where({ dataset }).where(inIds(db, 'golden_id', part)).select('record_id');
    for (const r of rows) out.push(Number(r.record_id));
  }
  return out;
}

export async function activeGoldenIds(db: Db, dataset: string): Promise<number[]> {
  const rows = await db('golden_records').where({ dataset, status: 'active' }).select('id');
  return rows.map((r) => Number(r.id));
}

export async function maxGoldenId(db: Db): Promise<number> {
  const row = await db('golden_records').max({ max: 'id' }).first();
  return Number(row?.max ?? 0);
}

export interface StoredGolden {
  id: number;
  masterId: string;
  attributes: string;
  sourceKeys: string;
  linkedBy: string | null;
  status: string;
}

export async function loadGoldenByIds(db: Db, ids: number[]): Promise<Map<number, StoredGolden>> {
  const out = new Map<number, StoredGolden>();
  for (const part of chunk(ids, IN_CHUNK)) {
    const rows = await db('golden_records')
      .where(inIds(db, 'id', part))
      .select('id', 'master_id', 'attributes', 'source_keys', 'linked_by', 'status');
    for (const r of rows) {
      out.set(Number(r.id), {
        id: Number(r.id),
        masterId: r.master_id,
        attributes: r.attributes,
        sourceKeys: r.source_keys,
        linkedBy: r.linked_by,
        status: r.status,
      });
    }
  }
  return out;
}

export interface GoldenRow {
  id: number;
  masterId: string;
  attributes: string;
  sourceKeys: string;
  linkedBy: string;
  memberCount: number;
}

export async function insertGolden(db: Db, dataset: string, rows: GoldenRow[], nowMs: number): Promise<void> {
  const columns = {
    id: 'integer', master_id: 'text', dataset: 'text', status: 'text', merged_into: 'text',
    attributes: 'text', source_keys: 'text', linked_by: 'text', member_count: 'integer',
    created_at_ms: 'bigint', updated_at_ms: 'bigint',
  } as const;
  for (const part of chunk(rows, 2000)) {
    await bulkInsert(
      db,
      'golden_records',
      columns,
      part.map((g) => ({
        id: g.id,
        master_id: g.masterId,
        dataset,
        status: 'active',
        merged_into: null,
        attributes: g.attributes,
        source_keys: g.sourceKeys,
        linked_by: g.linkedBy,
        member_count: g.memberCount,
        created_at_ms: nowMs,
        updated_at_ms: nowMs,
      })),
    );
  }
}

/** Rewrites golden records that changed, in bulk statements. */
export async function updateGolden(db: Db, rows: GoldenRow[], nowMs: number): Promise<void> {
  const columns = {
    id: 'integer', attributes: 'text', source_keys: 'text', linked_by: 'text', member_count: 'integer',
    status: 'text', merged_into: 'text', updated_at_ms: 'bigint',
  } as const;
  for (const part of chunk(rows, 2000)) {
    await bulkUpdate(
      db,
      'golden_records',
      'id',
      columns,
      part.map((g) => ({
        id: g.id,
        attributes: g.attributes,
        source_keys: g.sourceKeys,
        linked_by: g.linkedBy,
        member_count: g.memberCount,
        status: 'active',
        merged_into: null,
        updated_at_ms: nowMs,
      })),
    );
  }
}

export async function retireGolden(db: Db, id: number, mergedInto: string | null, nowMs: number): Promise<void> {
  await db('golden_records')
    .where({ id })
    .update({ status: mergedInto ? 'merged' : 'retired', merged_into: mergedInto, updated_at_ms: nowMs });
}

export interface MemberRow {
  recordId: number;
  goldenId: number | null;
  contentHash: string;
}

/** Replaces the membership rows of the given records (absent from `rows`: removed). */
export async function replaceMembers(
  db: Db,
  dataset: string,
  recordIds: ArrayLike<number> | 'all',
  rows: MemberRow[],
): Promise<void> {
  if (recordIds === 'all') await db('identity_members').where({ dataset }).delete();
  else {
    for (const part of chunk(Array.from(recordIds), IN_CHUNK)) {
      await db('identity_members').where({ dataset }).where(inIds(db, 'record_id', part)).delete();
    }
  }
  const columns = {
    dataset: 'text', record_id: 'integer', golden_id: 'integer', state: 'text', content_hash: 'text',
  } as const;
  for (const part of chunk(rows, INSERT_ROWS)) {
    await bulkInsert(
      db,
      'identity_members',
      columns,
      part.map((m) => ({
        dataset,
        record_id: m.recordId,
        golden_id: m.goldenId,
        state: m.goldenId === null ? 'ambiguous' : 'linked',
        content_hash: m.contentHash,
      })),
    );
  }
}

export interface IdentityEvent {
  kind: 'merge' | 'split' | 'ambiguous' | 'limit_refused' | 'lock_refused' | 'block_too_large';
  masterId: string;
  otherMasterId: string;
  rule: string;
  detail?: unknown;
}

export async function insertEvents(
  db: Db,
  dataset: string,
  runId: string,
  events: IdentityEvent[],
  nowMs: number,
): Promise<void> {
  for (const part of chunk(events, 200)) {
    await db('identity_events').insert(
      part.map((e) => ({
        dataset,
        kind: e.kind,
        master_id: e.masterId,
        other_master_id: e.otherMasterId,
        rule: e.rule.slice(0, 200),
        run_id: runId,
        at_ms: nowMs,
        detail: e.detail === undefined ? null : JSON.stringify(e.detail),
      })),
    );
  }
}

export interface GoldenRecord {
  masterId: string;
  attributes: Record<string, string>;
  sourceKeys: string[];
}

/** Active golden records of a dataset, oldest first. */
export async function loadGoldenRecords(db: Knex, dataset: string): Promise<GoldenRecord[]> {
  const rows = await db('golden_records')
    .where({ dataset, status: 'active' })
    .orderBy('id')
    .select('master_id', 'attributes', 'source_keys');
  return rows.map((r) => ({
    masterId: r.master_id,
    attributes: JSON.parse(r.attributes),
    sourceKeys: JSON.parse(r.source_keys),
  }));
}
