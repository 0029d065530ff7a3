import type { Knex } from 'knex';
import { isPostgres, migrate } from '../../store/db';
import { changeSeqMark } from '../../store/identity';
import { stageRecords, type StageRow } from '../../store/staging';
import { stageVersion } from '../../store/webhook';
import { BACKENDS, PG_URL } from '../support/databases';

/**
 * The change sequence of migration 010 as every writer of source_records leaves it: the
 * triggers stamp staging, the webhook store and hand-written updates alike. An incremental unify reads `change_seq >= mark`, so each write must
 * land at or above the mark a unify took before it.
 */
const T0 = 1_767_225_600_000;

if (!PG_URL) {
  describe.skip('change sequence on PostgreSQL (BRAID_TEST_PG_URL is not set)', () => {
    it('runs every change sequence test against PostgreSQL', () => undefined);
  });
}

function row(recordKey: string, email: string, extra: Partial<StageRow> = {}): StageRow {
  const origin = `crm.csv:${recordKey}`;
  return { source: 'crm', recordKey, values: { email }, sourceUpdatedAtMs: null, origin, ...extra };
}

describe.each(BACKENDS)('change sequence on $name', (backend) => {
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
    for (const table of ['source_record_history', 'source_records']) await db(table).delete();
  });

  async function seqOf(recordKey: string): Promise<number> {
    const found = await db('source_records')
      .where({ source: 'crm', record_key: recordKey })
      .first('change_seq');
    expect(found?.change_seq).not.toBeNull();
    return Number(found.change_seq);
  }

  it('stamps every row staging writes above the last mark, in write order', async () => {
    await stageRecords(db, [row('a', 'a@example.org')], T0);
    const mark = await changeSeqMark(db);

    // Outside a transaction (tools, the accuracy bench) and inside one (extract activities).
    await stageRecords(db, [row('b', 'b@example.org'), row('c', 'c@example.org')], T0 + 1);
    await db.transaction((trx) => stageRecords(trx, [row('d', 'd@example.org')], T0 + 2));

    const [a, b, c, d] = [await seqOf('a'), await seqOf('b'), await seqOf('c'), await seqOf('d')];
    expect(b).toBeGreaterThanOrEqual(mark);
    expect(c).toBeGreaterThanOrEqual(b);
    expect(d).toBeGreaterThan(c);
    expect(a).toBeLessThan(mark);
  });

  it('restamps changed and deleted records and leaves unchanged ones alone', async () => {
    const rows = [row('a', 'a@example.org'), row('b', 'b@example.org'), row('c', 'c@example.org')];
    await stageRecords(db, rows, T0);
    const before = await seqOf('a');
    const mark = await changeSeqMark(db);

    const changes = [
      row('a', 'a@example.org'),
      row('b', 'new@example.org'),
      row('c', 'c@example.org', { deleted: true }),
    ];
    await db.transaction((trx) => stageRecords(trx, changes, T0 + 1));

    expect(await seqOf('a')).toBe(before);
    expect(await seqOf('b')).toBeGreaterThanOrEqual(mark);
    expect(await seqOf('c')).toBeGreaterThanOrEqual(mark);
    const found = await db('source_records')
      .where({ source: 'crm' })
      .where('change_seq', '>=', mark)
      .orderBy('record_key')
      .pluck('record_key');
    expect(found).toEqual(['b', 'c']);
  });

  it('gives webhook upserts and hand-written updates a sequence through the triggers', async () => {
    await stageRecords(db, [row('a', 'a@example.org')], T0);
    const mark = await changeSeqMark(db);

    const version = {
      source: 'crm',
      recordKey: 'w',
      eventId: null,
      values: { email: 'w@example.org' },
      occurredAtMs: T0,
      origin: 'webhook 1',
    };
    const outcome = await db.transaction((trx) => stageVersion(trx, version, T0 + 1, null));
    expect(outcome.outcome).toBe('staged');
    const webhook = await seqOf('w');
    expect(webhook).toBeGreaterThanOrEqual(mark);

    const second = await changeSeqMark(db);
    await db.transaction((trx) =>
      stageVersion(
        trx,
        { ...version, values: { email: 'w2@example.org' }, occurredAtMs: T0 + 5 },
        T0 + 6,
        null,
      ),
    );
    expect(await seqOf('w')).toBeGreaterThanOrEqual(second);

    const third = await changeSeqMark(db);
    await db('source_records')
      .where({ source: 'crm', record_key: 'a' })
      .update({ deleted_at_ms: T0 + 7 });
    expect(await seqOf('a')).toBeGreaterThanOrEqual(third);
  });

  it('keeps values growing in commit order across staging transactions (SQLite: max + 1)', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      await stageRecords(db, [row(`k${i}`, `k${i}@example.org`)], T0 + i);
      seen.push(await seqOf(`k${i}`));
    }
    expect([...seen].sort((x, y) => x - y)).toEqual(seen);
    expect(new Set(seen).size).toBe(5);
    if (!isPostgres(db)) expect(seen.slice(1).map((s, i) => s - seen[i]!)).toEqual([1, 1, 1, 1]);
  });
});
