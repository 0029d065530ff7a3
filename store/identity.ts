import type { Knex } from 'knex';
import { chunk } from '../domain/diff';
import { bulkInsert, bulkUpdate, idRuns, inIds, inValues } from './bulk';
import { isPostgres, withSortCache } from './db';
import { copyRows, type CopyRow } from './pg-copy';
import { directInsert } from './sqlite-direct';

type Db = Knex | Knex.Transaction;

/** Ids per lookup statement (bound as one JSON parameter, see store/bulk.ts). */
const IN_CHUNK = 10000;
/** Consecutive ids read as one range rather than one by one (see store/bulk.ts idRuns). */
const RANGE_FROM = 16;
/** Ranges per statement: each is a condition of its own for the planner to weigh. */
const RANGES_PER_READ = 100;
/** Rows per bulk INSERT statement. */
const INSERT_ROWS = 10000;

/** A staged source record as the identity engine reads it, its payload as stored (JSON text). */
export interface StagedRow {
  id: number;
  source: string;
  recordKey: string;
  payload: string;
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
  /** Changes at or above this sequence are not unified yet (migration 010); null: unknown. */
  changeSeqFrom: number | null;
}

/**
 * PostgreSQL only: refreshes the statistics of source_records when they are missing or stale
 * (more rows changed since the last ANALYZE than a tenth of the table), as right after a large
 * import, before autovacuum gets to it. With none, the planner took the `source = ?` index for
 * the rebuild's id-ordered page reads and re-read the whole source for every page. Run outside
 * the unify's transaction, so ANALYZE's lock is released at once instead of blocking other
 * datasets' rebuilds and autovacuum until the unify commits.
 */
export async function refreshSourceStatistics(db: Knex): Promise<boolean> {
  if (!isPostgres(db)) return false;
  const result = await db.raw(
    `SELECT c.reltuples::float8 AS tuples, coalesce(s.n_mod_since_analyze, 0)::float8 AS changed
     FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE c.oid = to_regclass('source_records')`,
  );
  const row = result.rows[0] as { tuples: number; changed: number } | undefined;
  if (!row) return false;
  if (row.tuples >= 0 && row.changed <= row.tuples / 10 + 1000) return false;
  await db.raw('ANALYZE source_records');
  return true;
}

export async function getIdentityState(
  db: Db,
  dataset: string,
): Promise<IdentityState | undefined> {
  const row = await db('identity_state')
    .where({ dataset })
    .first('rules_hash', 'staged_until_ms', 'change_seq_from');
  if (!row) return undefined;
  return {
    rulesHash: row.rules_hash,
    stagedUntilMs: row.staged_until_ms === null ? null : Number(row.staged_until_ms),
    changeSeqFrom: row.change_seq_from === null ? null : Number(row.change_seq_from),
  };
}

/**
 * Where the change sequence stands, read at the start of a unify: every change below it is
 * committed and visible to the unify, so the next run reads from here (see migration 010).
 */
export async function changeSeqMark(db: Db): Promise<number> {
  if (isPostgres(db)) {
    const result = await db.raw('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS mark');
    return Number(result.rows[0].mark);
  }
  const row = await db('source_records').max({ max: 'change_seq' }).first();
  return Number(row?.max ?? 0) + 1;
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
  stagedUntilMs: number | null | undefined,
  changeSeqFrom: number,
): Promise<void> {
  let stagedUntil = stagedUntilMs ?? null;
  if (stagedUntilMs === undefined) {
    stagedUntil = await newestStagedAt(db, sources);
  }
  await db('identity_state')
    .insert({
      dataset,
      rules_hash: hash,
      updated_at_ms: nowMs,
      staged_until_ms: stagedUntil,
      change_seq_from: changeSeqFrom,
    })
    .onConflict('dataset')
    .merge();
}

/** Where an incremental unify looks for changes: from a change sequence, or a staging time. */
export type ChangesSince = { changeSeq: number } | { stagedAtMs: number | null };

/**
 * Records whose identity may have changed since the last unify: never unified, changed content,
 * or deleted at the source while still a member. With a change sequence the read is as large
 * as the changes; with a staging time (or none) it covers every record staged since.
 */
export async function listChangedRecords(
  db: Db,
  dataset: string,
  sources: string[],
  since: ChangesSince,
): Promise<Array<{ id: number; deleted: boolean; stagedAtMs: number }>> {
  const query = db('source_records as s');
  if ('changeSeq' in since) query.where('s.change_seq', '>=', since.changeSeq);
  else if (since.stagedAtMs !== null) query.where('s.staged_at_ms', '>=', since.stagedAtMs);
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
            .where((d) =>
              d.whereRaw('m.content_hash <> s.content_hash').orWhereNotNull('s.deleted_at_ms'),
            ),
        ),
    )
    .orderBy('s.id')
    .select('s.id', 's.deleted_at_ms', 's.staged_at_ms');
  return rows.map((r) => ({
    id: Number(r.id),
    deleted: r.deleted_at_ms !== null,
    stagedAtMs: Number(r.staged_at_ms),
  }));
}

/** A page of live (not deleted) records of the sources after `afterId`, in id order. */
function liveRecordsAfter(
  db: Db,
  sources: string[],
  afterId: number,
  limit: number,
): Knex.QueryBuilder {
  // Walk the primary key: SQLite would otherwise pick the (source, record_key) index and sort
  // the whole source for every page.
  const table = isPostgres(db) ? 'source_records' : db.raw('?? NOT INDEXED', ['source_records']);
  return db(table)
    .whereIn('source', sources)
    .whereNull('deleted_at_ms')
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit);
}

/** Live (not deleted) record ids of the sources after `afterId`, in id order. */
export async function pageLiveRecordIds(
  db: Db,
  sources: string[],
  afterId: number,
  limit: number,
): Promise<number[]> {
  const rows = await liveRecordsAfter(db, sources, afterId, limit).select('id');
  return rows.map((r: { id: number | string }) => Number(r.id));
}

/** Columns of source_records the identity engine reads, and their conversion. */
const ROW_COLUMNS = [
  'id',
  'source',
  'record_key',
  'payload',
  'content_hash',
  'source_updated_at_ms',
  'staged_at_ms',
];

function toStagedRow(r: Record<string, unknown>): StagedRow {
  return {
    id: Number(r.id),
    source: r.source as string,
    recordKey: r.record_key as string,
    payload: r.payload as string,
    contentHash: r.content_hash as string,
    recencyMs: Number(r.source_updated_at_ms ?? r.staged_at_ms),
  };
}

/**
 * The given records with their payload as stored, in id order. Runs of consecutive ids (most
 * of a rebuild's batches: its units come in id order) are read as ranges, the rest by list.
 */
export async function loadStagedRows(db: Db, ids: ArrayLike<number>): Promise<StagedRow[]> {
  const out: StagedRow[] = [];
  const { ranges, rest } = idRuns(ids, RANGE_FROM);
  for (const part of chunk(ranges, RANGES_PER_READ)) {
    const rows = await db('source_records')
      .where((q) => {
        for (const range of part) q.orWhereBetween('id', range);
      })
      .select(ROW_COLUMNS);
    for (const r of rows) out.push(toStagedRow(r));
  }
  for (const part of chunk(rest, IN_CHUNK)) {
    const rows = await db('source_records')
      .where(inIds(db, 'id', part))
      .select(ROW_COLUMNS);
    for (const r of rows) out.push(toStagedRow(r));
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * Live records of the sources after `afterId`, in id order, with their payload as stored
 * (JSON text): a rebuild's first pass parses them where it normalizes them.
 */
export async function pageLiveRawRecords(
  db: Db,
  sources: string[],
  afterId: number,
  limit: number,
): Promise<Array<{ id: number; source: string; payload: string }>> {
  const rows = await liveRecordsAfter(db, sources, afterId, limit).select(
    'id',
    'source',
    'payload',
  );
  return rows.map((r: { id: number | string; source: string; payload: string }) => ({
    id: Number(r.id),
    source: r.source,
    payload: r.payload,
  }));
}

/**
 * Every membership of the dataset that has a golden record, in record order, a page at a time
 * as two integer arrays: a rebuild never holds them all as rows.
 */
export async function eachMemberPage(
  db: Db,
  dataset: string,
  limit: number,
  visit: (recordIds: Int32Array, goldenIds: Int32Array) => void,
): Promise<void> {
  let after = -1;
  for (;;) {
    const rows = await db('identity_members')
      .where({ dataset })
      .where('record_id', '>', after)
      .whereNotNull('golden_id')
      .orderBy('record_id')
      .limit(limit)
      .select('record_id', 'golden_id');
    if (rows.length === 0) return;
    visit(
      Int32Array.from(rows, (r) => Number(r.record_id)),
      Int32Array.from(rows, (r) => Number(r.golden_id)),
    );
    after = Number(rows[rows.length - 1].record_id);
  }
}

/**
 * Retires active golden records of the dataset that no longer have a member (all deleted at the
 * source or held back), among `ids` or all; returns how many.
 */
export async function retireEmptyGolden(
  db: Db,
  dataset: string,
  ids: number[] | 'all',
  nowMs: number,
): Promise<number> {
  const empty = (q: Knex.QueryBuilder) =>
    q
      .where({ dataset, status: 'active' })
      .whereNotExists((m) =>
        m
          .select(db.raw('1'))
          .from('identity_members')
          .where('identity_members.dataset', dataset)
          .whereRaw('identity_members.golden_id = golden_records.id'),
      );
  if (ids === 'all')
    return Number(
      await empty(db('golden_records')).update({
        status: 'retired',
        merged_into: null,
        updated_at_ms: nowMs,
      }),
    );
  let count = 0;
  for (const part of chunk(ids, IN_CHUNK)) {
    const query = empty(db('golden_records')).where(inIds(db, 'id', part));
    count += Number(
      await query.update({ status: 'retired', merged_into: null, updated_at_ms: nowMs }),
    );
  }
  return count;
}

/** Previous golden id of each record (null when none), for the given ids. */
export async function loadPreviousGolden(
  db: Db,
  dataset: string,
  ids: number[],
): Promise<Map<number, number>> {
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
    await db('identity_keys')
      .where({ dataset })
      .where(inIds(db, 'record_id', part))
      .delete();
  }
}

const KEY_COLUMNS = {
  dataset: 'text',
  key_name: 'text',
  value: 'text',
  record_id: 'integer',
  kind: 'text',
} as const;
const MEMBER_COLUMNS = {
  dataset: 'text',
  record_id: 'integer',
  golden_id: 'integer',
  state: 'text',
  content_hash: 'text',
} as const;

/**
 * Where a full rebuild first puts its index rows when it cannot set identity_keys' indexes
 * aside: an unindexed temporary table, moved into identity_keys in index order once all are
 * written (see {@link beginKeyRebuild}).
 */
const LOAD_KEYS = 'braid_load_keys';
/** `index`: straight into identity_keys; `load`: into the rebuild's load table. */
export type WriteTarget = 'index' | 'load';

/** How a full rebuild writes the dataset's index rows, and how it puts the index in place. */
export interface KeyRebuild {
  into: WriteTarget;
  /** Once every row is written: makes identity_keys and its indexes whole again. */
  finish(): Promise<void>;
}

/**
 * Deletes the dataset's index rows and prepares identity_keys for their rebuild. When
 * the dataset holds most of the table, its rows go straight in with the value index set aside,
 * built afterwards with one sort: 1M records' 1.8M rows on SQLite took 2.4 s to index against
 * 4.1 s for the ordered move below. On SQLite the index by record stays, since rows come in
 * record order and each lands at its end (0.2 s more while writing, against 0.8 s to build it
 * afterwards); PostgreSQL, whose index upkeep costs more, sets it aside too (1.2 s more while
 * writing, against 0.6 s). On PostgreSQL only when no other dataset has index rows, since
 * dropping an index locks the table until the commit (see {@link setIndexesAside}); the other
 * unifies it would hold up have nothing there to read. Otherwise the rows go to a load table
 * and are moved in index order.
 *
 * On PostgreSQL, rebuilds of different datasets take turns from here to their commit: two
 * first unifies at once each saw no other dataset's rows, and each dropping the indexes while
 * the other held its delete's lock on the table was a deadlock.
 */
export async function beginKeyRebuild(
  db: Db,
  dataset: string,
  liveRecords: number,
): Promise<KeyRebuild> {
  if (isPostgres(db))
    await db.raw("SELECT pg_advisory_xact_lock(hashtext('braid-identity-keys-rebuild'))");
  await deleteKeys(db, dataset);
  const others = await rowsOfOthers(db, 'identity_keys', dataset);
  const dominant = others === 0 || (!isPostgres(db) && others <= liveRecords);
  const indexes = isPostgres(db)
    ? ['identity_keys_value', 'identity_keys_record']
    : ['identity_keys_value'];
  const restore = dominant
    ? await setIndexesAside(db, 'identity_keys', indexes, { postgres: true })
    : null;
  if (restore) {
    return {
      into: 'index',
      finish: async () => {
        await restore();
        if (isPostgres(db)) await db.raw('ANALYZE identity_keys');
      },
    };
  }
  await beginKeyLoad(db);
  return { into: 'load', finish: () => moveLoadedKeys(db, dataset) };
}

/**
 * When the newest record of the sources was staged, or null. Read newest first down the
 * staging-time index, which stops at the first row of these sources: SQLite's planner, with
 * every record in one source, chose the source index and read them all (0.2 s at 1M, at the
 * end of a rebuild), so it is told which index to use.
 */
async function newestStagedAt(db: Db, sources: string[]): Promise<number | null> {
  const table = isPostgres(db)
    ? 'source_records'
    : db.raw('?? INDEXED BY ??', ['source_records', 'source_records_staged_at']);
  const row: { staged_at_ms: number | string | null } | undefined = await db
    .from(table)
    .whereIn('source', sources)
    .orderBy('staged_at_ms', 'desc')
    .first('staged_at_ms');
  return row?.staged_at_ms === null || row?.staged_at_ms === undefined
    ? null
    : Number(row.staged_at_ms);
}

/** Live (not deleted) records of the sources. */
export async function countLiveRecords(db: Db, sources: string[]): Promise<number> {
  const row = await db('source_records')
    .whereIn('source', sources)
    .whereNull('deleted_at_ms')
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/**
 * Creates the rebuild's load table, private to this transaction's connection. An interrupted
 * rebuild leaves nothing behind: PostgreSQL drops it at the end of the transaction, SQLite
 * rolls its creation back with it, and it is dropped first in case an earlier run on the same
 * connection left it.
 */
async function beginKeyLoad(db: Db): Promise<void> {
  const pg = isPostgres(db);
  // Text compared as identity_keys compares it (migration 015), so the move below sorts rows
  // in that table's index order.
  const collate = (type: string) => (pg && type === 'text' ? `${type} COLLATE "C"` : type);
  const list = Object.entries(KEY_COLUMNS)
    .map(([name, type]) => `"${name}" ${collate(type)}`)
    .join(', ');
  await db.raw(`DROP TABLE IF EXISTS ${pg ? 'pg_temp' : 'temp'}."${LOAD_KEYS}"`);
  await db.raw(`CREATE TEMP TABLE "${LOAD_KEYS}" (${list})${pg ? ' ON COMMIT DROP' : ''}`);
  // The move sorts millions of rows; a larger sort area for this transaction only keeps
  // PostgreSQL's sort in fewer runs (SQLite's sorter spills to temporary files on its own).
  if (pg) await db.raw("SET LOCAL work_mem = '64MB'");
}

/**
 * Moves the loaded index rows into identity_keys in the order of its value index, then drops
 * the load table. B-tree inserts in index order append to the rightmost pages; the same rows
 * written in record order landed on random pages of the value index, which cost most of a
 * rebuild once that index outgrew the page cache. The database sorts (SQLite spills to disk),
 * so memory stays bounded.
 */
async function moveLoadedKeys(db: Db, dataset: string): Promise<void> {
  const list = Object.keys(KEY_COLUMNS)
    .map((name) => `"${name}"`)
    .join(', ');
  const restore = await setRecordIndexAside(db, dataset);
  await withSortCache(db, () =>
    db.raw(
      `INSERT INTO identity_keys (${list}) SELECT ${list} FROM "${LOAD_KEYS}" ` +
        'ORDER BY dataset, key_name, value, record_id',
    ),
  );
  if (restore) await restore();
  await db.raw(`DROP TABLE "${LOAD_KEYS}"`);
  // Statistics that still describe the table as it was made PostgreSQL plan the rebuild's
  // index walk (scanKeys) and the next incremental run badly.
  if (isPostgres(db)) await db.raw('ANALYZE identity_keys');
}

/**
 * Drops the named secondary indexes of `table` and returns a routine that re-creates them
 * exactly as the schema has them (null, and nothing dropped, when an index is missing). For a
 * rebuild that writes most of a table's rows in an order that reaches those indexes at random:
 * building an index afresh is one sort. It all happens inside the rebuild's transaction: an
 * interrupted rebuild rolls the drop back with everything else, and a UNIQUE index re-created
 * over duplicates fails the transaction as the insert would have. On SQLite other connections
 * keep reading the committed schema meanwhile, and no other writer gets in before the commit
 * anyway. On PostgreSQL the drop locks the table against every other reader and writer until
 * the commit, so it happens only when the caller says so (`postgres`), for a table no one else
 * needs meanwhile.
 */
export async function setIndexesAside(
  db: Db,
  table: string,
  names: readonly string[],
  options: { postgres?: boolean } = {},
): Promise<(() => Promise<void>) | null> {
  if (isPostgres(db) && !options.postgres) return null;
  const rows: Array<{ name: string; sql: string | null }> = isPostgres(db)
    ? (
        await db.raw(
          'SELECT indexname AS name, indexdef AS sql FROM pg_indexes ' +
            'WHERE schemaname = current_schema() AND tablename = ? AND indexname = ANY(?)',
          [table, [...names]],
        )
      ).rows
    : await db('sqlite_master')
        .where({ type: 'index', tbl_name: table })
        .whereIn('name', [...names])
        .select('name', 'sql');
  if (rows.length !== names.length || rows.some((r) => !r.sql)) return null;
  for (const name of names) await db.raw(`DROP INDEX "${name}"`);
  return () =>
    withSortCache(db, async () => {
      for (const row of rows) await db.raw(row.sql as string);
    });
}

/** Rows of `table` outside the dataset. */
async function rowsOfOthers(db: Db, table: string, dataset: string): Promise<number> {
  const row = await db(table).whereNot({ dataset }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/**
 * Sets aside the index of identity_keys by record when the rebuilt dataset brings at least as
 * many index rows as all other datasets hold: rows moved in value order reach it at random.
 */
async function setRecordIndexAside(db: Db, dataset: string): Promise<(() => Promise<void>) | null> {
  if (isPostgres(db)) return null;
  const loaded = await db(LOAD_KEYS).count({ n: '*' }).first();
  if ((await rowsOfOthers(db, 'identity_keys', dataset)) > Number(loaded?.n ?? 0)) return null;
  return setIndexesAside(db, 'identity_keys', ['identity_keys_record']);
}

/**
 * A rebuild into a dataset that has no golden record yet: sets aside the master id index of
 * golden_records while its rows go in. On SQLite when the dataset will hold at least as many
 * as all others (`upTo`: its record count, the most golden records it can get); on PostgreSQL
 * only when no other dataset has golden records, since the drop locks the table until the
 * commit (full rebuilds already take turns, see beginKeyRebuild). Derived master ids are
 * hashes, so each insert reached a random page of the unique index. The status index takes
 * rows in id order: SQLite keeps it, PostgreSQL sets it aside too (see beginKeyRebuild for
 * why they differ). Nothing reads golden_records by these indexes until the returned routine
 * restores them, and a taken id fails the restore as its insert would have.
 */
export async function setGoldenIndexesAside(
  db: Db,
  dataset: string,
  upTo: number,
): Promise<(() => Promise<void>) | null> {
  const others = await rowsOfOthers(db, 'golden_records', dataset);
  const unique = 'golden_records_master_id_unique';
  if (isPostgres(db)) {
    if (others > 0) return null;
    return setConstraintAside(db, 'golden_records', unique, [
      'golden_records_dataset_status_index',
    ]);
  }
  if (others > upTo / 2) return null;
  return setIndexesAside(db, 'golden_records', [unique]);
}

/**
 * PostgreSQL: a first rebuild writes every membership of the dataset, so the primary key of
 * identity_members and its index by golden record are set aside while they go in, when no
 * other dataset has memberships (the same reason as {@link setGoldenIndexesAside}). Only into
 * an empty target: the drop locks the table against readers until the commit, and a later
 * rebuild's readers still want the memberships last committed.
 * Memberships arrive in order of their unit's first record, so each insert reached a random
 * page of the key: 1M memberships took 4.2 s to write against 1.8 s, and both indexes then
 * build in 0.8 s. Nothing reads memberships by these indexes until the returned routine
 * restores them, and a duplicate fails the restore as its insert would have. SQLite keeps both:
 * its primary key is part of the table, and the golden index takes rows nearly in order.
 */
export async function setMemberKeyAside(
  db: Db,
  dataset: string,
): Promise<(() => Promise<void>) | null> {
  if (!isPostgres(db) || (await rowsOfOthers(db, 'identity_members', dataset)) > 0) return null;
  return setConstraintAside(db, 'identity_members', 'identity_members_pkey', [
    'identity_members_golden',
  ]);
}

/**
 * PostgreSQL: a uniqueness that is a table constraint (its index cannot be dropped alone) is
 * dropped and added back with its own definition, the given indexes beside it.
 */
async function setConstraintAside(
  db: Db,
  table: string,
  name: string,
  indexes: readonly string[],
): Promise<(() => Promise<void>) | null> {
  const found = await db.raw(
    'SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c ' +
      'JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace ' +
      'WHERE n.nspname = current_schema() AND t.relname = ? AND c.conname = ?',
    [table, name],
  );
  const def = found.rows[0]?.def as string | undefined;
  if (!def) return null;
  const restoreIndexes = await setIndexesAside(db, table, indexes, { postgres: true });
  if (!restoreIndexes) return null;
  await db.raw(`ALTER TABLE "${table}" DROP CONSTRAINT "${name}"`);
  return async () => {
    await db.raw(`ALTER TABLE "${table}" ADD CONSTRAINT "${name}" ${def}`);
    await restoreIndexes();
  };
}

export async function insertKeys(
  db: Db,
  dataset: string,
  rows: KeyRow[],
  into: WriteTarget = 'index',
): Promise<void> {
  const table = into === 'index' ? 'identity_keys' : LOAD_KEYS;
  const toRow = (r: KeyRow): CopyRow => [dataset, r.key, r.value, r.recordId, r.kind];
  if (await writeDirect(db, table, Object.keys(KEY_COLUMNS), rows, toRow)) return;
  for (const part of chunk(rows, INSERT_ROWS)) {
    await bulkInsert(
      db,
      table,
      KEY_COLUMNS,
      part.map((r) => ({
        dataset,
        key_name: r.key,
        value: r.value,
        record_id: r.recordId,
        kind: r.kind,
      })),
    );
  }
}

/**
 * The hot bulk writes of a unify: prepared statements on SQLite's own connection inside a
 * transaction (store/sqlite-direct.ts), COPY on PostgreSQL (store/pg-copy.ts), on the
 * transaction's connection when given one. Against unnest arrays, COPY took a 300k rebuild's
 * golden records from 2.6 s to 1.8 s, memberships from 1.5 s to 1.1 s and index rows from 1.0 s
 * to 0.65 s (the rest is index upkeep), and a 1M rebuild from 60 s to 52 s. False outside a
 * transaction on SQLite, where the caller falls back to its bulk statements.
 */
async function writeDirect<T>(
  db: Db,
  table: string,
  columns: readonly string[],
  rows: readonly T[],
  toRow: (row: T) => CopyRow,
): Promise<boolean> {
  if (isPostgres(db)) {
    if (rows.length > 0) await copyRows(db, table, columns, rows.map(toRow));
    return true;
  }
  const direct = await directInsert(db, table, columns);
  if (!direct) return false;
  direct(rows.map(toRow));
  return true;
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
  if (after)
    query.whereRaw('(key_name, value, record_id) > (?, ?, ?)', [
      after.key,
      after.value,
      after.recordId,
    ]);
  const rows = await query
    .orderBy([{ column: 'key_name' }, { column: 'value' }, { column: 'record_id' }])
    .limit(limit)
    .select('key_name', 'value', 'record_id');
  return rows.map((r) => ({
    recordId: Number(r.record_id),
    key: r.key_name,
    value: r.value,
    kind: '',
  }));
}

export async function keysOfRecords(db: Db, dataset: string, ids: number[]): Promise<KeyRow[]> {
  const out: KeyRow[] = [];
  for (const part of chunk(ids, IN_CHUNK)) {
    const rows = await db('identity_keys')
      .where({ dataset })
      .where(inIds(db, 'record_id', part))
      .select('key_name', 'value', 'record_id', 'kind');
    for (const r of rows)
      out.push({ recordId: Number(r.record_id), key: r.key_name, value: r.value, kind: r.kind });
  }
  return out;
}

/** Records indexed under any of the given values of one key. */
export async function recordsWithValues(
  db: Db,
  dataset: string,
  key: string,
  values: string[],
): Promise<number[]> {
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
export async function membersOfGolden(
  db: Db,
  dataset: string,
  goldenIds: number[],
): Promise<number[]> {
  const out: number[] = [];
  for (const part of chunk(goldenIds, IN_CHUNK)) {
    const rows = await db('identity_members')
      .where({ dataset })
      .where(inIds(db, 'golden_id', part))
      .select('record_id');
    for (const r of rows) out.push(Number(r.record_id));
  }
  return out;
}

export async function activeGoldenIds(db: Db, dataset: string): Promise<number[]> {
  const rows = await db('golden_records').where({ dataset, status: 'active' }).select('id');
  return rows.map((r) => Number(r.id));
}

/** Whether the dataset has no golden record at all, in any status. */
export async function hasNoGolden(db: Db, dataset: string): Promise<boolean> {
  return (await db('golden_records').where({ dataset }).first('id')) === undefined;
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

export async function insertGolden(
  db: Db,
  dataset: string,
  rows: GoldenRow[],
  nowMs: number,
): Promise<void> {
  const columns = {
    id: 'integer',
    master_id: 'text',
    dataset: 'text',
    status: 'text',
    merged_into: 'text',
    attributes: 'text',
    source_keys: 'text',
    linked_by: 'text',
    member_count: 'integer',
    created_at_ms: 'bigint',
    updated_at_ms: 'bigint',
  } as const;
  const toRow = (g: GoldenRow): CopyRow => [
    g.id,
    g.masterId,
    dataset,
    'active',
    null,
    g.attributes,
    g.sourceKeys,
    g.linkedBy,
    g.memberCount,
    nowMs,
    nowMs,
  ];
  if (await writeDirect(db, 'golden_records', Object.keys(columns), rows, toRow)) return;
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
    id: 'integer',
    attributes: 'text',
    source_keys: 'text',
    linked_by: 'text',
    member_count: 'integer',
    status: 'text',
    merged_into: 'text',
    updated_at_ms: 'bigint',
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

export async function retireGolden(
  db: Db,
  id: number,
  mergedInto: string | null,
  nowMs: number,
): Promise<void> {
  await db('golden_records')
    .where({ id })
    .update({
      status: mergedInto ? 'merged' : 'retired',
      merged_into: mergedInto,
      updated_at_ms: nowMs,
    });
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
      await db('identity_members')
        .where({ dataset })
        .where(inIds(db, 'record_id', part))
        .delete();
    }
  }
  const toRow = (m: MemberRow): CopyRow => [
    dataset,
    m.recordId,
    m.goldenId,
    m.goldenId === null ? 'ambiguous' : 'linked',
    m.contentHash,
  ];
  if (await writeDirect(db, 'identity_members', Object.keys(MEMBER_COLUMNS), rows, toRow)) return;
  for (const part of chunk(rows, INSERT_ROWS)) {
    await bulkInsert(
      db,
      'identity_members',
      MEMBER_COLUMNS,
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
