import type { Knex } from 'knex';
import { DatasetConfig } from '../../config/schema';
import { unifyDataset, type UnifySummary } from '../../identity/unify-dataset';
import { migrate } from '../../store/db';
import { stageRecords } from '../../store/staging';
import { BACKENDS } from '../support/databases';

const T0 = 1_767_225_600_000;

const CUSTOMERS = DatasetConfig.parse({
  sources: ['crm', 'shop'],
  keys: [
    { name: 'email', columns: ['email'], normalize: 'email' },
    { name: 'phone', columns: ['phone'], normalize: 'phone' },
  ],
  defaultCountry: 'FR',
  survivorship: { default: 'most_recent_non_null', columns: { tags: 'union', first_order: 'min' } },
});

describe.each(BACKENDS)('unifyDataset on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;
  let clock = T0;
  let ids = 0;

  beforeEach(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
    clock = T0;
    ids = 0;
  });

  afterEach(async () => close());

  const stage = async (source: string, key: string, values: Record<string, string>) => {
    clock += 1000;
    await stageRecords(
      db,
      [{ source, recordKey: key, values, sourceUpdatedAtMs: null, origin: key }],
      clock,
    );
  };
  const remove = async (source: string, key: string) => {
    await db('source_records').where({ source, record_key: key }).update({ deleted_at_ms: clock });
  };
  type Extra = {
    mode?: 'full';
    dryRun?: boolean;
    valueMemoryBytes?: number;
    threads?: number;
    pageRecords?: number;
  };
  const unify = (dataset = CUSTOMERS, extra: Extra = {}) =>
    unifyDataset(db, 'customers', dataset, {
      runId: `run-${clock}`,
      nowMs: clock,
      newMasterId: () => `M${++ids}`,
      ...extra,
    });
  /** master id → sorted `source:key` members, for active golden records. */
  const partition = async () => {
    const rows = await db('identity_members as m')
      .join('golden_records as g', 'g.id', 'm.golden_id')
      .join('source_records as s', 's.id', 'm.record_id')
      .where('m.dataset', 'customers')
      .select('g.master_id', 's.source', 's.record_key', 'g.status');
    const out: Record<string, string[]> = {};
    for (const r of rows) {
      expect(r.status).toBe('active');
      (out[r.master_id] ??= []).push(`${r.source}:${r.record_key}`);
    }
    for (const list of Object.values(out)) list.sort();
    return out;
  };
  const golden = async (masterId: string) => {
    const row = await db('golden_records').where({ master_id: masterId }).first();
    return { ...row, attributes: JSON.parse(row.attributes), linked_by: JSON.parse(row.linked_by) };
  };

  it('lists the ten largest clusters, largest first and by master id among equals', async () => {
    // Twelve people of two records, one of four, one of three, and one alone: sizes tie at 2,
    // so the master id decides which of those make the list.
    for (let p = 0; p < 12; p++) {
      await stage('crm', `c${p}`, { email: `p${p}@example.org`, phone: '' });
      await stage('shop', `s${p}`, { email: `P${p}@example.org`, phone: '' });
    }
    for (const k of ['a', 'b', 'c', 'd'])
      await stage('shop', `four-${k}`, { email: 'four@example.org', phone: '' });
    for (const k of ['a', 'b', 'c'])
      await stage('crm', `three-${k}`, { email: 'three@example.org', phone: '' });
    await stage('crm', 'alone', { email: 'alone@example.org', phone: '' });
    const summary = await unify();
    expect(summary).toMatchObject({ goldenRecords: 15 });
    // Master ids are handed out in order of each cluster's first record: M1..M12 the pairs,
    // M13 the four, M14 the three, M15 the one alone (never listed).
    expect(summary.largestClusters.map((c) => `${c.masterId}:${c.size}`)).toEqual([
      'M13:4',
      'M14:3',
      'M1:2',
      'M10:2',
      'M11:2',
      'M12:2',
      'M2:2',
      'M3:2',
      'M4:2',
      'M5:2',
    ]);
    expect(summary.largestClusters[0]!.linkedBy).toEqual(['exact/email']);
  });

  it('builds golden records with lineage, then does nothing when nothing changed', async () => {
    await stage('crm', 'c1', {
      email: 'ana@example.org',
      phone: '',
      tags: 'vip',
      first_order: '2024-05-01',
    });
    await stage('shop', 's1', {
      email: 'ANA@example.org',
      phone: '06 12 34 56 78',
      tags: 'app',
      first_order: '',
    });
    await stage('shop', 's2', {
      email: 'zoe@example.org',
      phone: '+33 6 12 34 56 78',
      tags: '',
      first_order: '2023-01-09',
    });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '', tags: '', first_order: '' });

    const first = await unify();
    expect(first).toMatchObject({ mode: 'full', recordsUnified: 4, goldenRecords: 2, created: 2 });
    expect(await partition()).toEqual({ M1: ['crm:c1', 'shop:s1', 'shop:s2'], M2: ['crm:c2'] });
    const ana = await golden('M1');
    expect(ana.attributes).toEqual({
      email: 'zoe@example.org',
      phone: '+33 6 12 34 56 78',
      tags: '["vip","app"]',
      first_order: '2023-01-09',
    });
    expect(ana.linked_by).toEqual(['exact/email', 'exact/phone']);
    expect(JSON.parse(ana.source_keys)).toEqual(['crm:c1', 'shop:s1', 'shop:s2']);

    const again = await unify();
    expect(again).toMatchObject({ mode: 'unchanged', goldenRecords: 2, created: 0, updated: 0 });
  });

  it('unmerges when a key value changes: the larger part keeps the id', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('crm', 'c2', { email: 'ana@example.org', phone: '' });
    await stage('shop', 's1', { email: 'ana@example.org', phone: '' });
    await stage('shop', 's2', { email: '', phone: '0611111111' });
    await unify();
    expect(await partition()).toEqual({ M1: ['crm:c1', 'crm:c2', 'shop:s1', 'shop:s2'] });

    // c1 changes its phone: s2 no longer links to anyone.
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0622222222' });
    const summary = await unify();
    expect(summary).toMatchObject({ mode: 'incremental', recordsChanged: 1, recordsUnified: 4 });
    expect(summary).toMatchObject({
      goldenRecords: 2,
      created: 1,
      split: 1,
      merged: 0,
      updated: 1,
    });
    expect(await partition()).toEqual({ M1: ['crm:c1', 'crm:c2', 'shop:s1'], M2: ['shop:s2'] });
    const events = await db('identity_events')
      .where({ kind: 'split' })
      .select('master_id', 'other_master_id', 'rule');
    expect(events).toEqual([{ master_id: 'M2', other_master_id: 'M1', rule: 'no longer linked' }]);
  });

  it('merges two golden records: the older id survives, the other is recorded as merged', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '' });
    await stage('shop', 's1', { email: '', phone: '0611111111' });
    await unify();
    expect(await partition()).toEqual({ M1: ['crm:c1'], M2: ['shop:s1'] });

    await stage('shop', 's2', { email: 'ana@example.org', phone: '06 11 11 11 11' });
    const summary = await unify();
    expect(summary).toMatchObject({ goldenRecords: 1, created: 0, merged: 1, recordsUnified: 3 });
    expect(await partition()).toEqual({ M1: ['crm:c1', 'shop:s1', 'shop:s2'] });
    expect(
      await db('golden_records').where({ master_id: 'M2' }).first('status', 'merged_into'),
    ).toEqual({
      status: 'merged',
      merged_into: 'M1',
    });
    const merge = await db('identity_events')
      .where({ kind: 'merge' })
      .first('master_id', 'other_master_id', 'rule');
    expect(merge).toEqual({
      master_id: 'M1',
      other_master_id: 'M2',
      rule: 'exact/email,exact/phone',
    });
  });

  it('removes records deleted at the source and retires a golden record left empty', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '' });
    await stage('shop', 's1', { email: 'ana@example.org', phone: '' });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '' });
    await unify();

    await remove('crm', 'c2');
    await remove('shop', 's1');
    const summary = await unify();
    expect(summary).toMatchObject({ goldenRecords: 1, retired: 1, recordsChanged: 2 });
    expect(await partition()).toEqual({ M1: ['crm:c1'] });
    expect(await db('golden_records').where({ master_id: 'M2' }).first('status')).toEqual({
      status: 'retired',
    });
  });

  it('reads only the changes since the last run, whatever their staging time says', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '' });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '' });
    await stage('crm', 'c3', { email: 'eve@example.org', phone: '' });
    await unify();
    const marks = await db('source_records').orderBy('id').pluck('change_seq');
    expect(marks.every((m: unknown) => m !== null)).toBe(true);

    // Long after staging: a deletion mark written without touching staged_at_ms (as a
    // hand-run fix would), far outside the staging-time margin, is still found.
    clock += 3 * 3600_000;
    await stage('shop', 's1', { email: 'zoe@example.org', phone: '' });
    expect(await unify()).toMatchObject({ mode: 'incremental', recordsChanged: 1 });
    await db('source_records')
      .where({ source: 'crm', record_key: 'c3' })
      .update({ deleted_at_ms: clock });
    await stage('crm', 'c2', { email: 'ana@example.org', phone: '' });
    const summary = await unify();
    expect(summary).toMatchObject({
      mode: 'incremental',
      recordsChanged: 2,
      merged: 1,
      retired: 1,
      goldenRecords: 2,
    });
    expect(await partition()).toEqual({ M1: ['crm:c1', 'crm:c2'], M4: ['shop:s1'] });
    expect(await db('golden_records').orderBy('id').pluck('status')).toEqual([
      'active',
      'merged',
      'retired',
      'active',
    ]);

    // Nothing changed since: the next run reads nothing and says so.
    expect((await unify()).mode).toBe('unchanged');
  });

  it('BL-15: holds the record of a shared mailbox and keeps the two people apart', async () => {
    await stage('crm', '003A1', {
      email: 'contact@bistro-lune.example',
      phone: '+33611111111',
      first_name: 'Hugo',
    });
    await stage('crm', '003A2', {
      email: 'contact@bistro-lune.example',
      phone: '+33622222222',
      first_name: 'Ines',
    });
    await stage('shop', '9001', {
      email: 'contact@bistro-lune.example',
      phone: '',
      first_name: '',
    });
    const summary = await unify();
    expect(summary).toMatchObject({ goldenRecords: 2, ambiguous: 1 });
    expect(summary.ambiguousRecords).toEqual([{ record: 'shop:9001', candidates: ['M1', 'M2'] }]);
    expect(await partition()).toEqual({ M1: ['crm:003A1'], M2: ['crm:003A2'] });
    expect(await db('identity_members').where({ state: 'ambiguous' }).select('golden_id')).toEqual([
      { golden_id: null },
    ]);
  });

  it('warns about a key column that no staged record has (a typo in the config)', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    const typo = DatasetConfig.parse({
      ...CUSTOMERS,
      keys: [{ name: 'email', columns: ['e_mail'], normalize: 'email' }, CUSTOMERS.keys[1]],
    });
    const summary = await unify(typo, { dryRun: true });
    expect(summary.warnings).toEqual([
      'key "email" uses column "e_mail", which no staged record has',
    ]);
    expect((await unify(CUSTOMERS, { dryRun: true })).warnings).toEqual([]);
  });

  it('previews a rule change without writing anything', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('shop', 's1', { email: 'other@example.org', phone: '0611111111' });
    await unify();
    const before = await partition();

    const emailOnly = DatasetConfig.parse({ ...CUSTOMERS, keys: [CUSTOMERS.keys[0]] });
    const preview = await unify(emailOnly, { dryRun: true });
    expect(preview).toMatchObject({ mode: 'full', goldenRecords: 2, created: 1, split: 1 });
    expect(await partition()).toEqual(before);
    expect(await db('identity_state').first('rules_hash')).toBeDefined();
    expect((await unify()).mode).toBe('unchanged');
  });

  it('leaves the previous state when a rebuild stops half-way, and rebuilds on the next run', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('shop', 's1', { email: 'other@example.org', phone: '0611111111' });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '' });
    await unify();
    const snapshot = async () => ({
      keys: await db('identity_keys')
        .orderBy(['key_name', 'value', 'record_id'])
        .select('key_name', 'value', 'record_id'),
      members: await db('identity_members')
        .orderBy('record_id')
        .select('record_id', 'golden_id', 'state'),
      golden: await db('golden_records')
        .orderBy('id')
        .select('id', 'master_id', 'status', 'attributes'),
      state: await db('identity_state').select('rules_hash', 'change_seq_from'),
    });
    const before = await snapshot();

    // Stopped once the new index rows are in place and golden records are being written.
    const emailOnly = DatasetConfig.parse({ ...CUSTOMERS, keys: [CUSTOMERS.keys[0]] });
    const stop = (progress: { phase: string }) => {
      if (progress.phase === 'writing') throw new Error('worker lost');
    };
    await expect(
      unifyDataset(db, 'customers', emailOnly, {
        runId: 'cut',
        nowMs: clock,
        heartbeat: stop,
        newMasterId: () => `M${++ids}`,
      }),
    ).rejects.toThrow('worker lost');
    expect(await snapshot()).toEqual(before);

    // The next attempt on the same connection finds no leftover of the first.
    expect(await unify(emailOnly)).toMatchObject({ mode: 'full', goldenRecords: 3, split: 1 });
    expect(await db('identity_keys').pluck('key_name')).toEqual(['email', 'email', 'email']);
  });

  it('rebuilds into an empty dataset with the schema indexes as they were, also when stopped', async () => {
    // SQLite sets some indexes aside during such a rebuild (store/identity.ts setIndexesAside).
    const indexes = async () =>
      db.client.config.client === 'pg'
        ? (
            await db.raw(
              `SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema()
             AND tablename IN ('golden_records', 'identity_keys', 'identity_members') ORDER BY 1`,
            )
          ).rows
        : await db('sqlite_master')
            .where({ type: 'index' })
            .whereIn('tbl_name', ['golden_records', 'identity_keys', 'identity_members'])
            .orderBy('name')
            .select('name', 'sql');
    const schema = await indexes();
    expect(schema.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining([
        'golden_records_master_id_unique',
        'identity_keys_record',
        'identity_keys_value',
        'identity_members_golden',
      ]),
    );
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('shop', 's1', { email: 'ANA@example.org', phone: '' });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '' });
    const stop = (progress: { phase: string }) => {
      if (progress.phase === 'writing') throw new Error('worker lost');
    };
    await expect(
      unifyDataset(db, 'customers', CUSTOMERS, {
        runId: 'cut',
        nowMs: clock,
        heartbeat: stop,
        newMasterId: () => `M${++ids}`,
      }),
    ).rejects.toThrow('worker lost');
    expect(await indexes()).toEqual(schema);
    expect(Number((await db('golden_records').count({ n: '*' }).first())?.n)).toBe(0);

    expect(await unify()).toMatchObject({ mode: 'full', goldenRecords: 2, created: 2 });
    expect(await indexes()).toEqual(schema);
    expect(await partition()).toEqual({ M3: ['crm:c1', 'shop:s1'], M4: ['crm:c2'] });
    // The re-created unique index still refuses a second golden record with a taken id.
    const taken = {
      id: 1000,
      master_id: 'M3',
      dataset: 'other',
      status: 'active',
      attributes: '{}',
      source_keys: '[]',
    };
    // Matched by message: better-sqlite3's error is not an Error of jest's realm, which toThrow needs.
    await expect(
      db('golden_records').insert({ ...taken, created_at_ms: clock, updated_at_ms: clock }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(
        /UNIQUE constraint failed: golden_records.master_id|golden_records_master_id_unique/,
      ),
    });
    // So does the re-created key of memberships (a primary key on PostgreSQL, set aside there too).
    const member = await db('identity_members').where({ dataset: 'customers' }).first();
    await expect(db('identity_members').insert(member)).rejects.toMatchObject({
      message: expect.stringMatching(
        /UNIQUE constraint failed: identity_members|identity_members_pkey/,
      ),
    });
    // A later rebuild finds its index rows through the re-created indexes as before.
    await stage('shop', 's2', { email: 'bob@example.org', phone: '' });
    expect(await unify()).toMatchObject({ mode: 'incremental', goldenRecords: 2 });
    expect(await partition()).toEqual({ M3: ['crm:c1', 'shop:s1'], M4: ['crm:c2', 'shop:s2'] });
  });

  it('rebuilds beside another dataset whether it holds more index rows or fewer, keeping its rows', async () => {
    // On SQLite a rebuild sets the record index of identity_keys aside while it moves its rows
    // in only when the dataset brings at least as many rows as all others hold, and keeps it
    // otherwise (store/identity.ts moveLoadedKeys): both must leave the same rows and indexes.
    const WIDE = DatasetConfig.parse({ ...CUSTOMERS, sources: ['crm', 'shop', 'web'] });
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('shop', 's1', { email: 'ANA@example.org', phone: '' });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '0622222222' });
    for (let i = 0; i < 6; i++)
      await stage('web', `w${i}`, { email: `web${i}@example.org`, phone: `06333333${10 + i}` });
    const wide = () =>
      unifyDataset(db, 'wide', WIDE, {
        runId: 'w',
        nowMs: clock,
        mode: 'full',
        newMasterId: () => `W${++ids}`,
      });
    const keysOf = (dataset: string) =>
      db('identity_keys')
        .where({ dataset })
        .orderBy(['key_name', 'value', 'record_id'])
        .select('key_name', 'value', 'record_id', 'kind');

    expect(await unify()).toMatchObject({ mode: 'full', goldenRecords: 2 });
    const customerKeys = await keysOf('customers');
    expect(customerKeys).toHaveLength(5);
    // 17 index rows against the 5 of `customers`: the record index is set aside.
    expect(await wide()).toMatchObject({ mode: 'full', goldenRecords: 8 });
    const wideKeys = await keysOf('wide');
    expect(wideKeys).toHaveLength(17);
    expect(await keysOf('customers')).toEqual(customerKeys);
    // 5 rows against the 17 of `wide`: the record index stays; the same rows again.
    expect(await unify(CUSTOMERS, { mode: 'full' })).toMatchObject({
      mode: 'full',
      goldenRecords: 2,
      created: 0,
    });
    expect(await keysOf('customers')).toEqual(customerKeys);
    expect(await keysOf('wide')).toEqual(wideKeys);
    expect(await partition()).toEqual({ M1: ['crm:c1', 'shop:s1'], M2: ['crm:c2'] });
    // Both indexes are back and serve an incremental run of either dataset.
    await stage('web', 'w9', { email: 'bob@example.org', phone: '' });
    expect(await wide()).toMatchObject({ goldenRecords: 8 });
    await stage('shop', 's2', { email: 'bob@example.org', phone: '' });
    expect(await unify()).toMatchObject({ mode: 'incremental', goldenRecords: 2 });
    expect(await partition()).toEqual({ M1: ['crm:c1', 'shop:s1'], M2: ['crm:c2', 'shop:s2'] });
  });

  it('rebuilds two datasets at once, each the only one with index rows when it starts', async () => {
    // On PostgreSQL both would set identity_keys' indexes aside; without taking turns, each
    // waited for the other's lock on the table (a deadlock, in about half of such races).
    const WEB = DatasetConfig.parse({ ...CUSTOMERS, sources: ['web'] });
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('shop', 's1', { email: 'ANA@example.org', phone: '' });
    for (let i = 0; i < 4; i++)
      await stage('web', `w${i}`, { email: `web${i % 2}@example.org`, phone: '' });
    for (let round = 0; round < 6; round++) {
      await db('identity_keys').delete();
      const [customers, web] = await Promise.all([
        unifyDataset(db, 'customers', CUSTOMERS, {
          runId: 'a',
          nowMs: clock,
          mode: 'full',
          newMasterId: () => `A${++ids}`,
        }),
        unifyDataset(db, 'web', WEB, {
          runId: 'b',
          nowMs: clock,
          mode: 'full',
          newMasterId: () => `B${++ids}`,
        }),
      ]);
      expect([customers.goldenRecords, web.goldenRecords]).toEqual([1, 2]);
    }
    expect(Number((await db('identity_keys').count({ n: '*' }).first())?.n)).toBe(7);
  });

  it('derives master ids on a rebuild into an empty dataset as on one over existing golden records', async () => {
    await stage('crm', 'c1', { email: 'ana@example.org', phone: '0611111111' });
    await stage('shop', 's1', { email: 'ANA@example.org', phone: '' });
    await stage('crm', 'c2', { email: 'bob@example.org', phone: '' });
    const derived = (mode?: 'full') =>
      unifyDataset(db, 'customers', CUSTOMERS, { runId: 'd', nowMs: clock, mode });
    await derived();
    const first = await db('golden_records').orderBy('id').select('master_id', 'status');
    // Rebuilt over its own golden records: every id is kept, none is taken twice.
    expect(await derived('full')).toMatchObject({ mode: 'full', created: 0, goldenRecords: 2 });
    expect(await db('golden_records').orderBy('id').select('master_id', 'status')).toEqual(first);
    // From scratch: the same data gives the same ids.
    for (const table of ['identity_members', 'identity_keys', 'identity_state', 'golden_records']) {
      await db(table).delete();
    }
    expect(await derived('full')).toMatchObject({ created: 2, goldenRecords: 2 });
    expect(await db('golden_records').orderBy('id').select('master_id', 'status')).toEqual(first);
  });

  it('joins records in memory as it reads them, or by walking the index past its memory budget', async () => {
    // A chain a~b by email, b~c by phone, c~d by email, written so that only normalized values
    // meet; e shares nothing. The walk is the engine's reference: both ways must agree.
    await stage('crm', 'a', { email: 'Ana@Example.org', phone: '' });
    await stage('shop', 'b', { email: 'ana@example.org', phone: '06 11 11 11 11' });
    await stage('crm', 'c', { email: 'ana.b@example.org', phone: '+33611111111' });
    await stage('shop', 'd', { email: 'ANA.B@example.org ', phone: '' });
    await stage('crm', 'e', { email: 'eve@example.org', phone: '0622222222' });
    const keys = () =>
      db('identity_keys')
        .where({ dataset: 'customers' })
        .orderBy(['key_name', 'value', 'record_id'])
        .select('key_name', 'value', 'record_id', 'kind');

    expect(await unify(CUSTOMERS, { mode: 'full', threads: 0 })).toMatchObject({
      goldenRecords: 2,
      created: 2,
      rebuild: { workedIn: 'inline', joinedIn: 'memory' },
    });
    const inMemory = { partition: await partition(), keys: await keys() };
    expect(inMemory.partition).toEqual({
      M1: ['crm:a', 'crm:c', 'shop:b', 'shop:d'],
      M2: ['crm:e'],
    });
    expect(inMemory.keys).toHaveLength(8);

    expect(await unify(CUSTOMERS, { mode: 'full', valueMemoryBytes: 0 })).toMatchObject({
      goldenRecords: 2,
      created: 0,
      updated: 0,
      rebuild: { joinedIn: 'index' },
    });
    expect({ partition: await partition(), keys: await keys() }).toEqual(inMemory);
    // A record thread (which `npm test` builds into dist/) gives the same rows.
    expect(await unify(CUSTOMERS, { mode: 'full', threads: 1 })).toMatchObject({
      goldenRecords: 2,
      created: 0,
      updated: 0,
      rebuild: { workedIn: 'thread', joinedIn: 'memory', doneHere: 0 },
    });
    expect({ partition: await partition(), keys: await keys() }).toEqual(inMemory);
    // A page per record: the thread holds two pages as the others are read, so this thread
    // normalizes some of them itself, and the rows are still the same.
    const shared = await unify(CUSTOMERS, { mode: 'full', threads: 1, pageRecords: 1 });
    expect(shared).toMatchObject({
      goldenRecords: 2,
      created: 0,
      updated: 0,
      rebuild: { workedIn: 'thread' },
    });
    expect(shared.rebuild!.doneHere).toBeGreaterThan(0);
    expect({ partition: await partition(), keys: await keys() }).toEqual(inMemory);
  });

  it('re-clusters the old neighbours of a changed record: their clusters may have hung on it', async () => {
    // r1 is the first holder of addr H, so H's links all start from it, and key limits refuse
    // both (two customer ids; two emails): r2 and r3 stay apart though nothing keeps them apart.
    // Once r1 leaves H, r2 and r3 join, as a rebuild finds; r1's own golden record held only
    // r1, so only its old values lead to them.
    const LIMITED = DatasetConfig.parse({
      sources: ['crm'],
      keys: [
        { name: 'cid', columns: ['cid'], maxValues: 1 },
        { name: 'email', columns: ['email'], normalize: 'email', maxValues: 1 },
        { name: 'addr', columns: ['addr'] },
      ],
    });
    await stage('crm', 'r1', { cid: 'C1', email: 'e1@example.org', addr: 'H' });
    await stage('crm', 'r2', { cid: 'C2', email: '', addr: 'H' });
    await stage('crm', 'r3', { cid: '', email: 'e3@example.org', addr: 'H' });
    expect(await unify(LIMITED)).toMatchObject({ mode: 'full', goldenRecords: 3, limitRefused: 2 });
    await stage('crm', 'r1', { cid: 'C1', email: 'e1@example.org', addr: 'K' });
    expect(await unify(LIMITED)).toMatchObject({
      mode: 'incremental',
      goldenRecords: 2,
      merged: 1,
    });
    expect(await partition()).toEqual({ M1: ['crm:r1'], M2: ['crm:r2', 'crm:r3'] });
    expect(await unify(LIMITED, { mode: 'full' })).toMatchObject({
      created: 0,
      updated: 0,
      merged: 0,
      split: 0,
    });
    expect(await partition()).toEqual({ M1: ['crm:r1'], M2: ['crm:r2', 'crm:r3'] });
  });

  // Key limits make a component's clusters depend on the order merges are tried in, and on
  // records whose merges were refused: the kind of state an incremental run can miss. The
  // test of old neighbours above holds the case found so far (these random changes did not
  // happen to build it); this one checks random changes under limits as well.
  const LIMITED = DatasetConfig.parse({
    ...CUSTOMERS,
    keys: [
      { name: 'email', columns: ['email'], normalize: 'email', maxValues: 1 },
      { name: 'phone', columns: ['phone'], normalize: 'phone', maxValues: 2 },
      { name: 'cid', columns: ['cid'], maxValues: 1 },
      { name: 'addr', columns: ['addr'] },
    ],
  });

  it.each([
    ['without limits', CUSTOMERS],
    ['under key limits', LIMITED],
  ])(
    'incremental runs give the same clusters and ids as a full rebuild (%s, random changes)',
    async (_label, config) => {
      let seed = 42;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      const pick = (n: number) => Math.floor(random() * n);
      const seen = { merged: 0, split: 0, retired: 0, created: 0 };
      let limitRefused = 0;
      for (let round = 0; round < 12; round++) {
        for (let change = 0; change < 12; change++) {
          const source = random() < 0.5 ? 'crm' : 'shop';
          const key = `r${pick(30)}`;
          if (random() < 0.15) await remove(source, key);
          else {
            const email = random() < 0.7 ? `p${pick(12)}@example.org` : '';
            const phone = random() < 0.6 ? `06${String(pick(10)).padStart(8, '1')}` : '';
            // Customer ids and a few shared addresses: only the limited rule set links on them.
            const addr = random() < 0.5 ? `street ${pick(3)}` : '';
            const cid = random() < 0.6 ? `C${pick(15)}` : '';
            await stage(source, key, { email, phone, addr, cid });
            await db('source_records')
              .where({ source, record_key: key })
              .update({ deleted_at_ms: null });
          }
        }
        // Every third incremental run does its per-record work in a record thread.
        const incremental = await unify(config, { threads: round % 3 === 0 ? 1 : undefined });
        expect(incremental.mode).toBe(round === 0 ? 'full' : 'incremental');
        for (const k of Object.keys(seen) as Array<keyof typeof seen>) seen[k] += incremental[k];
        limitRefused += incremental.limitRefused;
        const afterIncremental = await partition();
        // Every other rebuild has no memory for the values it reads and walks the index instead;
        // every other pair normalizes its records in a thread.
        const rebuild: UnifySummary = await unify(config, {
          mode: 'full',
          valueMemoryBytes: round % 2 ? 0 : undefined,
          threads: round % 4 < 2 ? 1 : 0,
        });
        expect(await partition()).toEqual(afterIncremental);
        expect(rebuild).toMatchObject({ created: 0, updated: 0, merged: 0, split: 0, retired: 0 });
        expect(rebuild.goldenRecords).toBe(incremental.goldenRecords);
      }
      // The random changes did exercise every kind of identity change.
      for (const count of Object.values(seen)) expect(count).toBeGreaterThan(0);
      if (config === LIMITED) expect(limitRefused).toBeGreaterThan(0);
    },
  );
});
