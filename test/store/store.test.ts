import type { Knex } from 'knex';
import { migrate, withSortCache } from '../../store/db';
import { BACKENDS, PG_URL } from '../support/databases';
import {
  completeBatch,
  failBatch,
  loadDestinationState,
  markSending,
  nextPendingBatch,
  summarizeOutbox,
  writeOutbox,
  type OutboxItem,
} from '../../store/delivery';
import {
  closeRun,
  EMPTY_COUNTS,
  getRun,
  listRowErrors,
  openRun,
  recordRowErrors,
  setCounts,
} from '../../store/runs';
import {
  getSourceFile,
  loadStagedRecords,
  saveSourceFile,
  stageRecords,
  type StageRow,
} from '../../store/staging';
import { migrationSource } from '../../store/migrations';
import { bulkInsert } from '../../store/bulk';
import { insertGolden, insertKeys, loadStagedRows, replaceMembers } from '../../store/identity';
import { AWKWARD_TEXT } from '../support/awkward-text';

/** Children before parents, so foreign keys allow the delete. */
const TABLES = [
  'row_errors',
  'runs',
  'outbox',
  'destination_state',
  'watermarks',
  'identity_events',
  'identity_members',
  'identity_keys',
  'identity_state',
  'golden_records',
  'source_files',
  'source_records',
];
const T0 = 1_767_225_600_000;

if (!PG_URL) {
  describe.skip('store on PostgreSQL (BRAID_TEST_PG_URL is not set)', () => {
    it('runs every store test against PostgreSQL', () => undefined);
  });
}

function row(
  recordKey: string,
  values: Record<string, string>,
  extra: Partial<StageRow> = {},
): StageRow {
  return {
    source: 'eshop',
    recordKey,
    values,
    sourceUpdatedAtMs: null,
    origin: `customers.csv:${recordKey}`,
    ...extra,
  };
}

function item(masterId: string, attributes: OutboxItem['attributes']): OutboxItem {
  return { masterId, externalId: masterId, attributes };
}

describe.each(BACKENDS)('store on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
  });

  afterAll(async () => {
    await close();
  });

  beforeEach(async () => {
    for (const table of TABLES) await db(table).delete();
  });

  describe('migrate', () => {
    it('creates every table once and is a no-op when run again', async () => {
      await db('watermarks').insert({ source: 'eshop', cursor: 'c1', updated_at_ms: T0 });

      await migrate(db);
      await migrate(db);

      const applied = await db('knex_migrations').select('name');
      expect(applied.map((r) => r.name)).toEqual(await migrationSource.getMigrations([]));
      expect(applied[0]!.name).toBe('001-init');
      for (const table of TABLES) expect(await db.schema.hasTable(table)).toBe(true);
      expect(await db('watermarks').select('source', 'cursor')).toEqual([
        { source: 'eshop', cursor: 'c1' },
      ]);
    });
  });

  describe('withSortCache', () => {
    it('sorts with a small SQLite page cache and gives the connection its own back, also on failure', async () => {
      if (db.client.config.client === 'pg') return;
      const cache = async () =>
        ((await db.raw('PRAGMA cache_size')) as Array<{ cache_size: number }>)[0]!.cache_size;
      expect(await cache()).toBe(-65536);
      expect(await withSortCache(db, async () => cache())).toBe(-4096);
      expect(await cache()).toBe(-65536);
      await expect(
        withSortCache(db, async () => Promise.reject(new Error('sort failed'))),
      ).rejects.toThrow('sort failed');
      expect(await cache()).toBe(-65536);
      // Inside a transaction too: a failed index build inside a rebuild leaves the cache whole.
      await expect(
        db.transaction(async (trx) => {
          await trx.raw('CREATE TABLE sort_probe (v TEXT)');
          await trx('sort_probe').insert([{ v: 'a' }, { v: 'a' }]);
          await withSortCache(trx, () =>
            trx.raw('CREATE UNIQUE INDEX sort_probe_v ON sort_probe (v)'),
          );
        }),
      ).rejects.toMatchObject({ message: expect.stringMatching(/UNIQUE constraint failed/) });
      expect(await cache()).toBe(-65536);
      expect(await db.schema.hasTable('sort_probe')).toBe(false);
    });

    it('gives back the cache it found when nested, or when the transaction ends mid-sort', async () => {
      if (db.client.config.client === 'pg') return;
      const cache = async () =>
        ((await db.raw('PRAGMA cache_size')) as Array<{ cache_size: number }>)[0]!.cache_size;
      const seen = await withSortCache(db, async () => {
        const inner = await withSortCache(db, async () => cache());
        return { inner, outerAfterInner: await cache() };
      });
      expect(seen).toEqual({ inner: -4096, outerAfterInner: -4096 });
      expect(await cache()).toBe(-65536);
      // A transaction that ends while the sort runs refuses statements; the cache still returns.
      await expect(
        db.transaction(async (trx) => {
          await withSortCache(trx, async () => {
            await trx.rollback(new Error('rolled back mid-sort'));
          });
        }),
      ).rejects.toThrow('rolled back mid-sort');
      expect(await cache()).toBe(-65536);
    });
  });

  describe('identity columns', () => {
    it('order index values byte by byte, whatever the database collation (migration 015)', async () => {
      const values = ['é', 'a', 'Z', 'B', 'ab', 'a-b'];
      await db('identity_keys').insert(
        values.map((value, i) => ({
          dataset: 'd',
          key_name: 'email',
          value,
          record_id: i + 1,
          kind: 'link',
        })),
      );
      const ordered = await db('identity_keys')
        .where({ dataset: 'd' })
        .orderBy('value')
        .pluck('value');
      expect(ordered).toEqual(['B', 'Z', 'a', 'a-b', 'ab', 'é']);
      // Equality is unchanged: a parameter takes the column's collation.
      expect(await db('identity_keys').where({ value: 'ab' }).pluck('record_id')).toEqual([5]);
      await db('identity_keys').delete();
      if (db.client.config.client !== 'pg') return;
      // The test cluster's own collation (C.UTF-8) orders as bytes too: the columns say which they use.
      const columns = await db('information_schema.columns')
        .whereRaw('table_schema = current_schema()')
        .whereIn('table_name', ['identity_keys', 'identity_members', 'golden_records'])
        .where('collation_name', 'C')
        .orderBy(['table_name', 'column_name'])
        .select('table_name', 'column_name');
      expect(columns.map((c) => `${c.table_name}.${c.column_name}`)).toEqual([
        'golden_records.dataset',
        'golden_records.master_id',
        'golden_records.merged_into',
        'golden_records.status',
        'identity_keys.dataset',
        'identity_keys.key_name',
        'identity_keys.value',
        'identity_members.dataset',
      ]);
    });

    it('refuse to change a column a view reads, naming the view, and change nothing (migrations 015-016)', async () => {
      if (db.client.config.client !== 'pg') return;
      await db.raw(
        'CREATE VIEW synced_profiles AS SELECT sync_id, master_id FROM destination_state',
      );
      const collation = async () =>
        (
          await db('information_schema.columns')
            .whereRaw('table_schema = current_schema()')
            .where({ table_name: 'golden_records', column_name: 'merged_into' })
            .first('collation_name')
        )?.collation_name;
      await expect(db.migrate.down({ migrationSource })).rejects.toThrow(
        /cannot change the collation of destination_state \(master_id\): \S+\.synced_profiles reads it\. Drop this view/,
      );
      // The migration's earlier tables went back with it.
      expect(await collation()).toBe('C');
      await db.raw('DROP VIEW synced_profiles');
      await db.migrate.down({ migrationSource });
      expect(await collation()).toBeNull();
      await migrate(db);
      expect(await collation()).toBe('C');
    });

    it('share one collation for master ids wherever they are stored, so joins keep their indexes (migration 016)', async () => {
      if (db.client.config.client !== 'pg') return;
      const columns = await db('information_schema.columns')
        .whereRaw('table_schema = current_schema()')
        .where((q) =>
          q.where('column_name', 'like', '%master_id').orWhere('column_name', 'merged_into'),
        )
        .orderBy(['table_name', 'column_name'])
        .select('table_name', 'column_name', 'collation_name');
      expect(columns.length).toBeGreaterThanOrEqual(11);
      expect(columns.filter((c) => c.collation_name !== 'C')).toEqual([]);
      // The join that finds a sync's departed records read the whole sync before: now it
      // probes the sync's key once per golden record that left.
      await db.raw(
        `INSERT INTO golden_records (master_id, dataset, status, attributes, source_keys,
           created_at_ms, updated_at_ms)
         SELECT 'm' || i, 'd', CASE WHEN i % 1000 = 0 THEN 'merged' ELSE 'active' END, '{}', '[]', 1, 1
         FROM generate_series(1, 5000) i`,
      );
      await db.raw(
        `INSERT INTO destination_state (sync_id, master_id, external_id, attributes, created_at_ms,
           last_sent_at_ms)
         SELECT 's', 'm' || i, 'e' || i, '{}', 1, 1 FROM generate_series(1, 5000) i`,
      );
      await db.raw('ANALYZE golden_records, destination_state');
      const plan = await db.raw(
        `EXPLAIN SELECT d.master_id FROM destination_state d
         JOIN golden_records g ON g.master_id = d.master_id
         WHERE d.sync_id = 's' AND g.dataset = 'd' AND g.status IN ('merged', 'retired')`,
      );
      const text = plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/Index (Only )?Scan using destination_state_pkey/);
      expect(text).not.toMatch(/Seq Scan on destination_state/);
      await db('destination_state').delete();
      await db('golden_records').delete();
    });
  });

  describe('stageRecords', () => {
    const julia = { first_name: 'Julia', surname: 'Taylor', email: 'hannah88@powers.com' };

    it('inserts new records with their values, update time and staging time', async () => {
      await stageRecords(
        db,
        [row('1', julia, { sourceUpdatedAtMs: T0 - 5 }), row('2', { email: '' })],
        T0,
      );

      const staged = await loadStagedRecords(db, ['eshop']);

      expect(staged.map(({ id: _, ...r }) => r)).toEqual([
        {
          source: 'eshop',
          recordKey: '1',
          values: julia,
          sourceUpdatedAtMs: T0 - 5,
          stagedAtMs: T0,
        },
        {
          source: 'eshop',
          recordKey: '2',
          values: { email: '' },
          sourceUpdatedAtMs: null,
          stagedAtMs: T0,
        },
      ]);
      expect(typeof staged[0]!.id).toBe('number');
    });

    it('keeps the row untouched when the content is unchanged', async () => {
      await stageRecords(db, [row('1', julia)], T0);
      const [before] = await db('source_records').select('*');

      await stageRecords(
        db,
        [row('1', { ...julia }, { origin: 'customers_2.csv:9', sourceUpdatedAtMs: T0 })],
        T0 + 1000,
      );

      expect(await db('source_records').select('*')).toEqual([before]);
      expect(Number(before.staged_at_ms)).toBe(T0);
    });

    it('updates values, hash, origin and staging time when the content changed', async () => {
      await stageRecords(db, [row('1', julia), row('2', { email: 'x@example.org' })], T0);
      const [before] = await db('source_records')
        .where({ record_key: '1' })
        .select('id', 'content_hash');

      await stageRecords(
        db,
        [row('1', { ...julia, surname: 'Hill' }, { origin: 'customers_2.csv:4' })],
        T0 + 1000,
      );

      const after = await db('source_records').orderBy('record_key').select('*');
      expect(
        after.map((r) => [
          r.record_key,
          JSON.parse(r.payload).surname ?? null,
          Number(r.staged_at_ms),
          r.origin,
        ]),
      ).toEqual([
        ['1', 'Hill', T0 + 1000, 'customers_2.csv:4'],
        ['2', null, T0, 'customers.csv:2'],
      ]);
      expect(after[0].id).toBe(before.id);
      expect(after[0].content_hash).not.toBe(before.content_hash);
    });

    it('keeps the last of several rows for one record key in a call', async () => {
      await stageRecords(
        db,
        [row('1', { v: 'a' }), row('1', { v: 'b' }), row('1', { v: 'c' })],
        T0,
      );

      const staged = await loadStagedRecords(db, ['eshop']);

      expect(staged.map((r) => r.values)).toEqual([{ v: 'c' }]);
    });

    it('keeps sources apart and loads only the sources asked for', async () => {
      await stageRecords(
        db,
        [row('1', { v: 'shop' }), row('1', { v: 'crm' }, { source: 'crm' })],
        T0,
      );

      const shop = await loadStagedRecords(db, ['eshop']);
      const both = await loadStagedRecords(db, ['eshop', 'crm']);

      expect(shop.map((r) => r.values.v)).toEqual(['shop']);
      expect(both.map((r) => `${r.source}:${r.values.v}`)).toEqual(['eshop:shop', 'crm:crm']);
    });

    it('stages more rows than one insert statement holds', async () => {
      const rows = Array.from({ length: 1203 }, (_, i) => row(String(i), { n: String(i) }));

      await stageRecords(db, rows, T0);
      await stageRecords(db, rows, T0 + 1);

      const staged = await loadStagedRecords(db, ['eshop']);
      expect(staged).toHaveLength(1203);
      expect(staged[1202]!.values).toEqual({ n: '1202' });
      expect(new Set(staged.map((r) => r.stagedAtMs))).toEqual(new Set([T0]));
    });
  });

  describe('source files', () => {
    it('returns undefined for a file never seen', async () => {
      expect(await getSourceFile(db, 'eshop', 'customers_20260301.csv')).toBeUndefined();
    });

    it('round-trips progress and marks the import time only once imported', async () => {
      const state = {
        fileName: 'customers_20260301.csv',
        sizeBytes: 5_000_000_000,
        modifiedAtMs: T0,
        status: 'importing' as const,
        linesDone: 400,
        rowsStaged: 390,
        rowsRejected: 10,
      };

      await saveSourceFile(db, 'eshop', state, 'run-1', T0 + 1);
      const importing = await getSourceFile(db, 'eshop', state.fileName);
      const halfway = await db('source_files').first('run_id', 'imported_at_ms');
      await saveSourceFile(
        db,
        'eshop',
        { ...state, status: 'imported', linesDone: 1001 },
        'run-2',
        T0 + 2,
      );
      const imported = await getSourceFile(db, 'eshop', state.fileName);
      const done = await db('source_files').first('run_id', 'imported_at_ms');

      expect(importing).toEqual(state);
      expect(halfway).toEqual({ run_id: 'run-1', imported_at_ms: null });
      expect(imported).toEqual({ ...state, status: 'imported', linesDone: 1001 });
      expect({ ...done, imported_at_ms: Number(done.imported_at_ms) }).toEqual({
        run_id: 'run-2',
        imported_at_ms: T0 + 2,
      });
      expect(await getSourceFile(db, 'crm', state.fileName)).toBeUndefined();
    });
  });

  describe('outbox', () => {
    const plan = [
      [
        item('M1', { email: 'a@example.org', city: 'Leeds' }),
        item('M2', { email: 'b@example.org' }),
      ],
      [item('M3', { city: null })],
    ];

    it('numbers batches from 1 and keeps the first plan when planned again', async () => {
      const first = await writeOutbox(db, 'run-1', 'sync-1', plan);
      const second = await writeOutbox(db, 'run-1', 'sync-1', [[item('M9', { x: 'y' })], [], []]);

      const rows = await db('outbox')
        .orderBy('batch_no')
        .select('batch_no', 'sync_id', 'status', 'item_count', 'attribute_count', 'attempts');
      expect([first, second]).toEqual([2, 2]);
      expect(rows).toEqual([
        {
          batch_no: 1,
          sync_id: 'sync-1',
          status: 'planned',
          item_count: 2,
          attribute_count: 3,
          attempts: 0,
        },
        {
          batch_no: 2,
          sync_id: 'sync-1',
          status: 'planned',
          item_count: 1,
          attribute_count: 1,
          attempts: 0,
        },
      ]);
      expect(await nextPendingBatch(db, 'run-1')).toEqual({
        batchNo: 1,
        items: plan[0],
        attempts: 0,
      });
      expect(await nextPendingBatch(db, 'run-2')).toBeUndefined();
    });

    it('moves the destination state forward as batches are acknowledged', async () => {
      await stageRecords(db, [row('a', { n: 'a' })], T0);
      await writeOutbox(db, 'run-1', 'sync-1', plan);
      await openRun(db, { runId: 'run-1', syncId: 'sync-1', trigger: 'manual', startedAtMs: T0 });

      await markSending(db, 'run-1', 1);
      const sending = await nextPendingBatch(db, 'run-1');
      await completeBatch(db, {
        runId: 'run-1',
        syncId: 'sync-1',
        batchNo: 1,
        accepted: [plan[0]![0]!],
        rejected: [{ item: plan[0]![1]!, reason: 'invalid email address' }],
        nowMs: T0 + 1,
      });
      const next = await nextPendingBatch(db, 'run-1');

      expect(sending).toEqual({ batchNo: 1, items: plan[0], attempts: 1 });
      expect(next).toEqual({ batchNo: 2, items: plan[1], attempts: 0 });
      expect(await loadDestinationState(db, 'sync-1')).toEqual(
        new Map([['M1', { email: 'a@example.org', city: 'Leeds' }]]),
      );
      expect(await listRowErrors(db, 'run-1')).toEqual([
        { stage: 'deliver', recordKey: 'M2', reason: 'invalid email address' },
      ]);
      expect(await loadDestinationState(db, 'sync-2')).toEqual(new Map());
    });

    it('removes attributes sent as null and keeps the creation time on a later run', async () => {
      await writeOutbox(db, 'run-1', 'sync-1', [
        [item('M1', { email: 'a@example.org', city: 'Leeds', tags: ['x'] })],
      ]);
      await completeBatch(db, {
        runId: 'run-1',
        syncId: 'sync-1',
        batchNo: 1,
        accepted: [item('M1', { email: 'a@example.org', city: 'Leeds', tags: ['x'] })],
        rejected: [],
        nowMs: T0,
      });
      const update = { ...item('M1', { city: null, orders: 3, vip: false }), externalId: 'ext-1' };
      await writeOutbox(db, 'run-2', 'sync-1', [[update]]);

      await completeBatch(db, {
        runId: 'run-2',
        syncId: 'sync-1',
        batchNo: 1,
        accepted: [update],
        rejected: [],
        nowMs: T0 + 50,
      });

      expect(await loadDestinationState(db, 'sync-1')).toEqual(
        new Map([['M1', { email: 'a@example.org', tags: ['x'], orders: 3, vip: false }]]),
      );
      const state = await db('destination_state').first(
        'external_id',
        'created_at_ms',
        'last_sent_at_ms',
      );
      expect([
        state.external_id,
        Number(state.created_at_ms),
        Number(state.last_sent_at_ms),
      ]).toEqual(['ext-1', T0, T0 + 50]);
      expect(await listRowErrors(db, 'run-2')).toEqual([]);
    });

    it('fails a batch: each item becomes a row error, the batch is not pending', async () => {
      await writeOutbox(db, 'run-1', 'sync-1', plan.slice(0, 1));
      await markSending(db, 'run-1', 1);

      await failBatch(db, 'run-1', 1, 'credentials rejected (401)');

      expect(await nextPendingBatch(db, 'run-1')).toBeUndefined();
      expect(await db('outbox').first('status', 'error')).toEqual({
        status: 'failed',
        error: 'credentials rejected (401)',
      });
      expect(await listRowErrors(db, 'run-1')).toEqual([
        { stage: 'deliver', recordKey: 'M1', reason: 'credentials rejected (401)' },
        { stage: 'deliver', recordKey: 'M2', reason: 'credentials rejected (401)' },
      ]);
      expect(await loadDestinationState(db, 'sync-1')).toEqual(new Map());
    });

    it('summarizes sent, failed and pending batches with every attempt counted', async () => {
      const three = [...plan, [item('M4', { a: '1', b: '2' }), item('M5', { c: '3' })]];
      await writeOutbox(db, 'run-1', 'sync-1', three);
      await markSending(db, 'run-1', 1);
      await markSending(db, 'run-1', 1);
      await completeBatch(db, {
        runId: 'run-1',
        syncId: 'sync-1',
        batchNo: 1,
        accepted: [three[0]![0]!],
        rejected: [{ item: three[0]![1]!, reason: 'invalid email address' }],
        nowMs: T0,
      });
      await markSending(db, 'run-1', 2);
      await failBatch(db, 'run-1', 2, 'bad request');

      const summary = await summarizeOutbox(db, 'run-1');

      expect(summary).toEqual({
        batches: 3,
        pending: 1,
        failed: 1,
        requestsSent: 3,
        attributesSent: 3,
        itemsSent: 2,
        itemsAccepted: 1,
        itemsRejected: 2,
      });
      expect(await summarizeOutbox(db, 'run-none')).toEqual({
        batches: 0,
        pending: 0,
        failed: 0,
        requestsSent: 0,
        attributesSent: 0,
        itemsSent: 0,
        itemsAccepted: 0,
        itemsRejected: 0,
      });
    });
  });

  describe('bulkInsert', () => {
    it('writes awkward text, nulls and numbers back exactly', async () => {
      const values = [
        'a"b',
        'back\\slash\\',
        '{brace}',
        'comma,sep',
        'NULL',
        '',
        '  spaced ',
        'é日本',
        'line\nbreak',
      ];
      const columns = {
        dataset: 'text',
        key_name: 'text',
        value: 'text',
        record_id: 'integer',
        kind: 'text',
      } as const;
      const memberColumns = {
        dataset: 'text',
        record_id: 'integer',
        golden_id: 'integer',
        state: 'text',
        content_hash: 'text',
      } as const;
      await bulkInsert(
        db,
        'identity_keys',
        columns,
        values.map((value, i) => ({
          dataset: 'd',
          key_name: 'k',
          value,
          record_id: i + 1,
          kind: i % 2 ? 'exact' : 'fuzzy',
        })),
      );
      await bulkInsert(db, 'identity_members', memberColumns, [
        { dataset: 'd', record_id: 1, golden_id: null, state: 'ambiguous', content_hash: 'h' },
        {
          dataset: 'd',
          record_id: 2,
          golden_id: 2_000_000_000,
          state: 'linked',
          content_hash: 'NULL',
        },
      ]);

      const keys = await db('identity_keys')
        .orderBy('record_id')
        .select('value', 'record_id', 'kind');
      expect(keys.map((r) => r.value)).toEqual(values);
      expect(keys.map((r) => Number(r.record_id))).toEqual(values.map((_, i) => i + 1));
      expect(keys[1].kind).toBe('exact');
      const members = await db('identity_members')
        .orderBy('record_id')
        .select('golden_id', 'content_hash');
      expect(
        members.map((m) => [m.golden_id === null ? null : Number(m.golden_id), m.content_hash]),
      ).toEqual([
        [null, 'h'],
        [2_000_000_000, 'NULL'],
      ]);
    });
  });

  describe('loadStagedRows', () => {
    it('reads the asked records once each, in id order, whether in runs or apart', async () => {
      // More runs than one statement reads (100), runs too short to be ranges, single ids,
      // repeats, and ids that are not there.
      const records = Array.from({ length: 2400 }, (_, i) =>
        row(`k${i}`, { email: `p${i}@example.com` }),
      );
      await stageRecords(db, records, T0);
      const ids = (await db('source_records').orderBy('id').pluck('id')).map(Number);
      const wanted = new Set<number>();
      for (let run = 0; run < 110; run++)
        for (let k = 0; k < 18; k++) wanted.add(ids[run * 20 + k]!);
      for (let k = 2200; k < 2210; k++) wanted.add(ids[k]!);
      for (let k = 2220; k < 2400; k += 7) wanted.add(ids[k]!);
      const missing = ids[ids.length - 1]! + 1000;
      const asked = [...wanted, ...[...wanted].slice(0, 50), missing].reverse();

      const rows = await loadStagedRows(db, asked);

      expect(rows.map((r) => r.id)).toEqual([...wanted].sort((a, b) => a - b));
      const byKey = new Map(records.map((r) => [r.recordKey, r.values]));
      for (const r of rows) expect(JSON.parse(r.payload)).toEqual(byKey.get(r.recordKey));
      expect(rows[0]).toMatchObject({ source: 'eshop', recordKey: 'k0', recencyMs: T0 });
    });
  });

  describe('identity bulk writes', () => {
    // In a transaction SQLite takes store/sqlite-direct.ts (prepared statements on the
    // transaction's own connection); PostgreSQL COPY's text format (store/pg-copy.ts), where a
    // tab, newline, carriage return or backslash unescaped would end or change a field and
    // `\N` is null. Both must store exactly what was given.
    const awkward = AWKWARD_TEXT;

    it('writes index rows, memberships and golden records exactly, inside the transaction', async () => {
      await db.transaction(async (trx) => {
        await insertKeys(
          trx,
          'd',
          awkward.map((value, i) => ({ recordId: i + 1, key: 'k', value, kind: 'link' })),
        );
        await replaceMembers(trx, 'd', 'all', [
          { recordId: 1, goldenId: null, contentHash: '7' },
          { recordId: 2, goldenId: 2_000_000_000, contentHash: 'NULL' },
        ]);
        await insertGolden(
          trx,
          'd',
          awkward.map((text, i) => ({
            id: i + 1,
            masterId: `m${text}${i}`,
            attributes: text,
            sourceKeys: '[]',
            linkedBy: '["email"]',
            memberCount: i,
          })),
          T0,
        );
      });
      const keys = await db('identity_keys')
        .orderBy('record_id')
        .select('value', 'record_id', 'kind', 'dataset');
      expect(keys.map((r) => r.value)).toEqual(awkward);
      expect(keys.map((r) => r.record_id)).toEqual(awkward.map((_, i) => i + 1));
      expect(new Set(keys.map((r) => `${r.dataset}/${r.kind}`))).toEqual(new Set(['d/link']));
      const members = await db('identity_members')
        .orderBy('record_id')
        .select('golden_id', 'state', 'content_hash');
      expect(members).toEqual([
        { golden_id: null, state: 'ambiguous', content_hash: '7' },
        { golden_id: 2_000_000_000, state: 'linked', content_hash: 'NULL' },
      ]);
      const golden = await db('golden_records')
        .orderBy('id')
        .select('id', 'attributes', 'member_count', 'created_at_ms', 'status');
      expect(golden.map((g) => g.attributes)).toEqual(awkward);
      expect(golden.map((g) => [g.id, g.member_count, Number(g.created_at_ms), g.status])).toEqual(
        awkward.map((_, i) => [i + 1, i, T0, 'active']),
      );
      // Integer columns hold integers, not REAL values a text comparison would print as `1.0`.
      if (db.client.config.client !== 'pg') {
        const types = await db.raw(
          'SELECT DISTINCT typeof(record_id) AS t FROM identity_keys UNION ALL SELECT DISTINCT typeof(created_at_ms) FROM golden_records',
        );
        expect(types.map((r: { t: string }) => r.t)).toEqual(['integer', 'integer']);
      }
    });

    it('writes nothing when the transaction rolls back', async () => {
      await expect(
        db.transaction(async (trx) => {
          await insertKeys(trx, 'd', [{ recordId: 1, key: 'k', value: 'v', kind: 'link' }]);
          await replaceMembers(trx, 'd', 'all', [{ recordId: 1, goldenId: 1, contentHash: 'h' }]);
          await insertGolden(
            trx,
            'd',
            [
              {
                id: 1,
                masterId: 'm',
                attributes: '{}',
                sourceKeys: '[]',
                linkedBy: '[]',
                memberCount: 1,
              },
            ],
            T0,
          );
          throw new Error('stop');
        }),
      ).rejects.toThrow('stop');
      for (const table of ['identity_keys', 'identity_members', 'golden_records']) {
        expect(Number((await db(table).count({ n: '*' }).first())?.n)).toBe(0);
      }
    });
  });

  describe('runs', () => {
    const run = { runId: 'run-1', syncId: 'eshop-to-braze', trigger: 'schedule', startedAtMs: T0 };

    it('opens a run once, sets counts, and closes it with a report', async () => {
      await openRun(db, { ...run, dataPointsBefore: 1592 });
      await openRun(db, { ...run, trigger: 'manual', startedAtMs: T0 + 99, dataPointsBefore: 7 });
      const opened = await getRun(db, 'run-1');

      await setCounts(db, 'run-1', { goldenRecords: 347, goldenCreated: 347 });
      await setCounts(db, 'run-1', { goldenRecords: 340 });
      await setCounts(db, 'run-1', { recordsRead: 980, recordsRejected: 23 });
      await closeRun(db, 'run-1', 'succeeded', T0 + 5000, { note: 'done', files: ['a.csv'] });

      expect(opened).toEqual({
        ...run,
        status: 'running',
        finishedAtMs: null,
        counts: EMPTY_COUNTS,
        dataPointsBefore: 1592,
        report: null,
      });
      expect(await getRun(db, 'run-1')).toEqual({
        ...run,
        status: 'succeeded',
        finishedAtMs: T0 + 5000,
        counts: {
          ...EMPTY_COUNTS,
          goldenRecords: 340,
          goldenCreated: 347,
          recordsRead: 980,
          recordsRejected: 23,
        },
        dataPointsBefore: 1592,
        report: { note: 'done', files: ['a.csv'] },
      });
      expect(await getRun(db, 'run-2')).toBeUndefined();
    });

    it('lists a run’s row errors in order, with every field, up to the limit', async () => {
      await recordRowErrors(db, 'run-1', [
        {
          stage: 'extract',
          source: 'eshop',
          fileName: 'customers_20260301.csv',
          line: 4,
          recordKey: '3',
          field: 'email',
          reason: 'malformed email',
        },
        { stage: 'plan', recordKey: 'M7', reason: 'email: required for sync but empty' },
        { stage: 'deliver', recordKey: 'M8', reason: 'rejected' },
      ]);
      await recordRowErrors(db, 'run-2', [{ stage: 'deliver', reason: 'other run' }]);
      await recordRowErrors(db, 'run-1', []);

      const all = await listRowErrors(db, 'run-1');
      const firstTwo = await listRowErrors(db, 'run-1', 2);

      expect(all).toEqual([
        {
          stage: 'extract',
          source: 'eshop',
          fileName: 'customers_20260301.csv',
          line: 4,
          recordKey: '3',
          field: 'email',
          reason: 'malformed email',
        },
        { stage: 'plan', recordKey: 'M7', reason: 'email: required for sync but empty' },
        { stage: 'deliver', recordKey: 'M8', reason: 'rejected' },
      ]);
      expect(firstTwo).toEqual(all.slice(0, 2));
    });
  });
});
