import type { Knex } from 'knex';
import { migrate } from '../../store/db';
import { copyField, copyInto, copyLine, copyRows } from '../../store/pg-copy';
import { PG_URL, postgres, sqlite } from '../support/databases';
import { AWKWARD_TEXT } from '../support/awkward-text';

describe('COPY text format', () => {
  it('escapes what would end or change a field, and writes null as \\N', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\\.')).toBe('\\\\.');
    expect(copyField('')).toBe('');
    expect(copyField(' é日本 "x" ')).toBe(' é日本 "x" ');
    expect(copyField(2_000_000_000)).toBe('2000000000');
    expect(copyField(1_767_225_600_000)).toBe('1767225600000');
    expect(copyField(Number.NaN)).toBe('\\N');
    // Values outside the type, from untyped callers, are written as their text.
    expect(copyField(true as unknown as string)).toBe('true');
    expect(copyField(BigInt(7) as unknown as string)).toBe('7');
    expect(copyLine(['a', undefined as unknown as string, 'b\\'])).toBe('a\t\\N\tb\\\\');
    expect(copyLine(['a', null, 3, 'x\ty'])).toBe('a\t\\N\t3\tx\\ty');
  });
});

describe('copyInto on SQLite', () => {
  it('refuses: COPY is PostgreSQL only', async () => {
    const { db, close } = await sqlite.open();
    try {
      await expect(copyInto(db, 't', ['a'], ['1'])).rejects.toThrow(
        'copy into t: COPY is PostgreSQL only',
      );
    } finally {
      await close();
    }
  });
});

if (!PG_URL) {
  describe.skip('COPY on PostgreSQL (BRAID_TEST_PG_URL is not set)', () => {
    it('runs every COPY test against PostgreSQL', () => undefined);
  });
}

(PG_URL ? describe : describe.skip)('COPY on PostgreSQL', () => {
  let db: Knex;
  let close: () => Promise<void>;
  const awkward = AWKWARD_TEXT;

  beforeAll(async () => {
    ({ db, close } = await postgres.open());
    await migrate(db);
    await db.raw('CREATE TABLE copy_probe (id integer PRIMARY KEY, label text, amount bigint)');
  });

  afterAll(async () => {
    await close();
  });

  beforeEach(async () => {
    await db('copy_probe').delete();
  });

  const probe = async () =>
    (await db('copy_probe').orderBy('id').select('id', 'label', 'amount')).map((r) => [
      r.id,
      r.label,
      r.amount === null ? null : Number(r.amount),
    ]);

  it('stores awkward text, null and large integers exactly, outside a transaction', async () => {
    const rows = awkward.map(
      (label, i) => [i + 1, label, i === 0 ? null : 1_767_225_600_000 + i] as const,
    );
    expect(await copyRows(db, 'copy_probe', ['id', 'label', 'amount'], rows)).toBe(awkward.length);
    expect(await probe()).toEqual(rows.map((r) => [...r]));
    // A null label is SQL NULL, the text `\N` is text.
    await copyRows(db, 'copy_probe', ['id', 'label'], [[100, null]]);
    expect(await db('copy_probe').whereNull('label').pluck('id')).toEqual([100]);
  });

  it("runs on the transaction's own connection: a temporary table of the transaction takes the rows", async () => {
    // A temporary table exists for its connection alone: a COPY on any other would fail.
    const seen = await db.transaction(async (trx) => {
      await trx.raw('CREATE TEMP TABLE copy_local (n integer, s text) ON COMMIT DROP');
      const written = await copyRows(
        trx,
        'copy_local',
        ['n', 's'],
        [
          [1, 'one'],
          [2, 'two\ttabs'],
        ],
      );
      const rows = await trx('copy_local').orderBy('n').select('n', 's');
      return { written, rows };
    });
    expect(seen).toEqual({
      written: 2,
      rows: [
        { n: 1, s: 'one' },
        { n: 2, s: 'two\ttabs' },
      ],
    });
  });

  it('discards COPYed rows when the transaction rolls back', async () => {
    await expect(
      db.transaction(async (trx) => {
        await copyRows(
          trx,
          'copy_probe',
          ['id', 'label'],
          [
            [1, 'a'],
            [2, 'b'],
          ],
        );
        expect(Number((await trx('copy_probe').count({ n: '*' }).first())?.n)).toBe(2);
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await probe()).toEqual([]);
  });

  it("rejects with the server's error, which rolls the transaction back, and the pool goes on", async () => {
    const failure = db.transaction(async (trx) => {
      await copyRows(trx, 'copy_probe', ['id', 'label'], [[1, 'kept?']]);
      await copyRows(
        trx,
        'copy_probe',
        ['id', 'label'],
        [
          [2, 'b'],
          [2, 'duplicate'],
        ],
      );
    });
    await expect(failure).rejects.toMatchObject({
      code: '23505',
      message: expect.stringContaining('copy_probe_pkey'),
    });
    expect(await probe()).toEqual([]);
    await expect(
      copyRows(db, 'copy_probe', ['id', 'amount'], [[3, 'not a number']]),
    ).rejects.toMatchObject({ code: '22P02' });
    expect(await copyRows(db, 'copy_probe', ['id', 'label'], [[4, 'after']])).toBe(1);
    expect(await probe()).toEqual([[4, 'after', null]]);
  });

  it('fails the COPY when its rows cannot be generated, and stores none of them', async () => {
    function* rows(): Iterable<string> {
      yield '1\tfirst';
      throw new Error('row 2: no value');
    }
    await expect(copyInto(db, 'copy_probe', ['id', 'label'], rows())).rejects.toThrow(
      'row 2: no value',
    );
    expect(await probe()).toEqual([]);
    expect(await copyRows(db, 'copy_probe', ['id'], [[5]])).toBe(1);
  });

  it('sends rows larger than one chunk in several, and an empty COPY stores nothing', async () => {
    const label = 'x'.repeat(100);
    const rows = Array.from({ length: 25_000 }, (_, i) => [i, `${label}${i}`] as const);
    expect(await copyRows(db, 'copy_probe', ['id', 'label'], rows)).toBe(25_000);
    const check = await db('copy_probe').count({ n: '*' }).max({ last: 'label' }).first();
    expect([Number(check?.n), check?.last]).toEqual([25_000, `${label}9999`]);
    expect(await copyInto(db, 'copy_probe', ['id'], [])).toBe(0);
  });
});
