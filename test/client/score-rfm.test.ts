import Database from 'better-sqlite3';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { registerScoreCommands } from '../../client/commands/score';

const CDNOW = path.join(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');

/**
 * The default segment grid written out again as a table, so the SQL below does not lean on
 * domain/rfm/segments.ts: (R from, R to, FxM from, FxM to, segment).
 */
const GRID_ROWS: Array<[number, number, number, number, string]> = [
  [5, 6, 5, 6, 'champions'],
  [3, 4, 5, 6, 'loyal'],
  [1, 2, 5, 6, 'top_becoming_passive'],
  [5, 6, 3, 4, 'potential_loyalists'],
  [3, 4, 3, 4, 'needs_attention'],
  [1, 2, 3, 4, 'at_risk'],
  [5, 6, 1, 2, 'new_customers'],
  [4, 4, 1, 2, 'promising'],
  [3, 3, 1, 2, 'about_to_sleep'],
  [2, 2, 1, 2, 'hibernating'],
  [1, 1, 1, 2, 'lost'],
];

/**
 * RFM in plain SQL, independent of the TypeScript: per customer the days since the last line,
 * the line count and the sum in whole cents, then "1 + floor(6 × strictly worse / n)" from
 * RANK() (rank − 1 is the number of rows strictly before in the window order), and the segment
 * by joining the grid.
 */
const RFM_SQL = `
WITH agg AS (
  SELECT customer_id,
         CAST(julianday(:asOf) - julianday(MAX(day)) AS INTEGER) AS recency_days,
         COUNT(*) AS frequency,
         SUM(cents) AS cents
  FROM orders
  WHERE day <= :asOf AND (:windowDays IS NULL OR julianday(day) > julianday(:asOf) - :windowDays)
  GROUP BY customer_id
),
base AS (SELECT COUNT(*) AS n FROM agg),
scored AS (
  SELECT agg.*,
         MIN(6, 1 + 6 * (RANK() OVER (ORDER BY recency_days DESC) - 1) / n) AS r,
         MIN(6, 1 + 6 * (RANK() OVER (ORDER BY frequency) - 1) / n) AS f,
         MIN(6, 1 + 6 * (RANK() OVER (ORDER BY cents) - 1) / n) AS m
  FROM agg, base
),
combined AS (
  SELECT scored.*, MIN(6, 1 + 6 * (RANK() OVER (ORDER BY f + m) - 1) / n) AS fm
  FROM scored, base
)
SELECT c.customer_id, c.recency_days, c.frequency, c.cents, c.r, c.f, c.m, c.fm, g.segment
FROM combined c
JOIN grid g ON c.r BETWEEN g.r_from AND g.r_to AND c.fm BETWEEN g.fm_from AND g.fm_to
ORDER BY c.customer_id`;

interface SqlRow {
  customer_id: string;
  recency_days: number;
  frequency: number;
  cents: number;
  r: number;
  f: number;
  m: number;
  fm: number;
  segment: string;
}

// What the SQL gives on CDNOW as of 1998-07-01. No customer is a new_customer: everyone in the
// file first bought in early 1997, so by mid-1998 nobody has one recent order and little else.
const CDNOW_SEGMENTS: Record<string, number> = {
  champions: 5466,
  loyal: 897,
  top_becoming_passive: 94,
  potential_loyalists: 2373,
  needs_attention: 3050,
  at_risk: 1944,
  promising: 1007,
  about_to_sleep: 2783,
  hibernating: 2858,
  lost: 3098,
};
// Customers whose segment 90 or 30 days earlier (scored by the SQL then) differs from today's.
const CDNOW_CHANGED = 2673;

let db: Database.Database;
let dir: string;

/** Loads CDNOW into SQLite with a regular expression per line; the reader is not used. */
beforeAll(() => {
  db = new Database(':memory:');
  db.exec('CREATE TABLE orders (customer_id TEXT, day TEXT, cds INTEGER, cents INTEGER)');
  db.exec('CREATE TABLE grid (r_from INT, r_to INT, fm_from INT, fm_to INT, segment TEXT)');
  const insertGrid = db.prepare('INSERT INTO grid VALUES (?, ?, ?, ?, ?)');
  for (const row of GRID_ROWS) insertGrid.run(...row);
  const insert = db.prepare(
    `INSERT INTO orders VALUES (@id, substr(@ymd, 1, 4) || '-' || substr(@ymd, 5, 2) || '-' ||
       substr(@ymd, 7, 2), @cds, CAST(ROUND(@dollars * 100) AS INTEGER))`,
  );
  db.transaction(() => {
    for (const line of readFileSync(CDNOW, 'latin1').split('\n')) {
      const m = /^\s*(\d+)\s+(\d{8})\s+(\d+)\s+(\d+\.\d+)\s*$/.exec(line);
      if (m) insert.run({ id: m[1], ymd: m[2], cds: Number(m[3]), dollars: Number(m[4]) });
    }
  })();
  dir = mkdtempSync(path.join(tmpdir(), 'braid-score-'));
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function sqlRfm(asOf: string, windowDays: number | null = null): SqlRow[] {
  return db.prepare(RFM_SQL).all({ asOf, windowDays }) as SqlRow[];
}

function countBy<T>(rows: T[], key: (row: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[key(row)] = (counts[key(row)] ?? 0) + 1;
  return counts;
}

/** Runs `braid score ...` through commander, as the CLI would, and returns what it printed. */
async function braid(...args: string[]): Promise<string[]> {
  const printed: string[] = [];
  const program = new Command('braid').exitOverride();
  registerScoreCommands(program, (line) => printed.push(line));
  await program.parseAsync(args, { from: 'user' });
  return printed;
}

function cdnowArgs(out: string): string[] {
  return ['--orders', CDNOW, '--as-of', '1998-07-01', '--out', out];
}

/** Parses the command's CSV output; none of its cells needs quoting on CDNOW. */
function readOutput(file: string): Array<Record<string, string>> {
  const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const columns = (header as string).split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i], v])));
}

/** The command's rows in the shape of the SQL rows, for a whole-table comparison. */
function asSqlRows(rows: Array<Record<string, string>>): SqlRow[] {
  return rows.map((row) => ({
    customer_id: row.customer_id as string,
    recency_days: Number(row.recency_days),
    frequency: Number(row.frequency),
    cents: Math.round(Number(row.monetary) * 100),
    r: Number(row.r),
    f: Number(row.f),
    m: Number(row.m),
    fm: Number(row.fm),
    segment: row.segment as string,
  }));
}

describe('independent SQL computation of RFM on CDNOW as of 1998-07-01', () => {
  it('finds 69,659 order lines of 23,570 customers and these score counts', () => {
    const rows = sqlRfm('1998-07-01');

    expect(db.prepare('SELECT COUNT(*) AS n FROM orders').get()).toEqual({ n: 69_659 });
    expect(rows).toHaveLength(23_570);
    const r = { 1: 4057, 2: 3937, 3: 3958, 4: 3779, 5: 3936, 6: 3903 };
    expect(countBy(rows, (row) => row.r)).toEqual(r);
    // Half the customers bought one line: F has only four scores.
    expect(countBy(rows, (row) => row.f)).toEqual({ 1: 11908, 4: 4079, 5: 3658, 6: 3925 });
    const m = { 1: 4227, 2: 3674, 3: 3884, 4: 3930, 5: 3927, 6: 3928 };
    expect(countBy(rows, (row) => row.m)).toEqual(m);
    const fm = { 1: 4211, 2: 5535, 3: 2608, 4: 4759, 5: 3594, 6: 2863 };
    expect(countBy(rows, (row) => row.fm)).toEqual(fm);
    expect(countBy(rows, (row) => row.segment)).toEqual(CDNOW_SEGMENTS);
  });
});

describe('braid score rfm', () => {
  it('writes the scores the SQL gives every CDNOW customer and prints a summary', async () => {
    const out = path.join(dir, 'rfm.csv');

    const printed = await braid('score', 'rfm', ...cdnowArgs(out));

    const expected = sqlRfm('1998-07-01');
    const written = readOutput(out);
    expect(Object.keys(written[0] ?? {})).toEqual([
      'customer_id',
      'recency_days',
      'frequency',
      'monetary',
      'r',
      'f',
      'm',
      'fm',
      'segment',
    ]);
    expect(asSqlRows(written)).toEqual(expected);
    expect(printed.slice(0, 7)).toEqual([
      'Scored 23570 customers as of 1998-07-01 (cdnow)',
      '  rows read           69659 (0 rejected)',
      '  orders after as-of  0 ignored',
      '  customers           23570',
      '  bins used           R 6 of 6, F 4 of 6, M 6 of 6, FxM 6 of 6',
      `  rows written        23570 to ${out}`,
      '  segments:',
    ]);
    expect(printed).toContain('    champions                5466');
    expect(printed).toContain('    new_customers               0');
  });

  it('counts only the last 365 days of orders with --window-days, as the SQL does', async () => {
    const out = path.join(dir, 'rfm-365.csv');

    await braid('score', 'rfm', ...cdnowArgs(out), '--window-days', '365');

    const expected = sqlRfm('1998-07-01', 365);
    expect(expected.length).toBeLessThan(23_570);
    expect(asSqlRows(readOutput(out))).toEqual(expected);
  });

  it('reads a CSV with named columns and order ids, and lists the rejected rows', async () => {
    const orders = path.join(dir, 'orders.csv');
    const out = path.join(dir, 'rfm-csv.csv');
    writeFileSync(
      orders,
      [
        'client;order;placed_at;total',
        'A;o1;2026-03-01;10.00',
        'A;o1;2026-03-01;5.00',
        'A;o2;2026-03-20;20.00',
        'B;o3;2026-02-01;7.50',
        'C;o4;not-a-date;1.00',
        'C;o5;2026-03-31;3.00',
        'D;o6;2026-04-02;99.00',
      ].join('\n'),
    );
    const columns = ['--customer-col', 'client', '--order-col', 'order', '--date-col', 'placed_at'];

    const printed = await braid(
      ...['score', 'rfm', '--orders', orders, '--as-of', '2026-04-01', '--out', out],
      ...[...columns, '--amount-col', 'total'],
    );

    // A: orders o1 (two lines) and o2, 35.00, 12 days; B: 7.50, 59 days; C: 3.00, 1 day.
    expect(readFileSync(out, 'utf8')).toBe(
      [
        'customer_id,recency_days,frequency,monetary,r,f,m,fm,segment',
        'A,12,2,35.00,3,5,5,5,loyal',
        'B,59,1,7.50,1,1,3,3,at_risk',
        'C,1,1,3.00,5,1,1,1,new_customers',
        '',
      ].join('\n'),
    );
    expect(printed).toEqual(
      expect.arrayContaining([
        'Scored 3 customers as of 2026-04-01 (csv)',
        '  rows read           7 (1 rejected)',
        '  orders after as-of  1 ignored',
        '  bins used           R 3 of 6, F 2 of 6, M 3 of 6, FxM 3 of 6',
        '  rejected rows:',
        '    orders.csv:6 [placed_at] not a date (YYYY-MM-DD, yyyymmdd or ISO 8601)',
      ]),
    );
  });

  it('adds the segments of 30 and 90 days earlier, as the SQL scores them then', async () => {
    const out = path.join(dir, 'rfm-changes.csv');

    await braid('score', 'rfm', ...cdnowArgs(out), '--changes');

    const written = readOutput(out);
    const then30 = new Map(sqlRfm('1998-06-01').map((row) => [row.customer_id, row.segment]));
    const then90 = new Map(sqlRfm('1998-04-02').map((row) => [row.customer_id, row.segment]));
    expect(written.map((row) => row.segment_30d_ago)).toEqual(
      written.map((row) => then30.get(row.customer_id as string)),
    );
    expect(written.map((row) => row.segment_90d_ago)).toEqual(
      written.map((row) => then90.get(row.customer_id as string)),
    );
    const changed = written.filter((row) => row.segment_change !== '');
    expect(changed.length).toBe(CDNOW_CHANGED);
    for (const row of changed) {
      const path = [row.segment_90d_ago, row.segment_30d_ago, row.segment].filter(
        (s, i, all) => i === 0 || s !== all[i - 1],
      );
      expect(row.segment_change).toBe(path.join(' → '));
    }
  });

  it('refuses 5 bins without segments for them, and scores 5 bins with segments', async () => {
    const out = path.join(dir, 'rfm5.csv');
    const segments = path.join(dir, 'five.yaml');
    const rest = '  - { name: rest, r: 1-2, fm: 1-5 }\n';
    writeFileSync(segments, `segments:\n  - { name: top, r: 3-5, fm: 3-5 }\n${rest}`);
    const args = ['score', 'rfm', ...cdnowArgs(out), '--bins', '5'];

    await expect(braid(...args)).rejects.toThrow(
      '--bins 5: the built-in segments cover a 6x6 grid',
    );
    await expect(braid(...args, '--segments', segments)).rejects.toThrow(
      `${segments}: segments: cells without a segment: R3/FxM1, R3/FxM2, R4/FxM1`,
    );
    writeFileSync(segments, `segments:\n  - { name: top, r: 3-5, fm: 1-5 }\n${rest}`);
    const printed = await braid(...args, '--segments', segments);

    const scores = readOutput(out).map((row) => Number(row.f));
    expect(Math.max(...scores)).toBe(5);
    expect(printed).toContain('  bins used           R 5 of 5, F 4 of 5, M 5 of 5, FxM 5 of 5');
  });
});

describe('braid score rfm-history', () => {
  it('scores each year as of its last day, as the SQL does then', async () => {
    const out = path.join(dir, 'history.csv');

    const printed = await braid('score', 'rfm-history', ...cdnowArgs(out), '--period', 'year');

    const written = readOutput(out);
    const y1997 = written.filter((row) => row.period === '1997');
    const y1998 = written.filter((row) => row.period === '1998');
    expect(new Set(y1997.map((row) => row.as_of))).toEqual(new Set(['1997-12-31']));
    expect(asSqlRows(y1997)).toEqual(sqlRfm('1997-12-31'));
    expect(asSqlRows(y1998)).toEqual(sqlRfm('1998-07-01'));
    expect(printed).toContain('  periods             2');
  });

  it('keeps only the last 365 days of orders in each month with --window-days', async () => {
    const out = path.join(dir, 'history-365.csv');

    await braid('score', 'rfm-history', ...cdnowArgs(out), '--window-days', '365');

    const written = readOutput(out);
    expect(new Set(written.map((row) => row.period)).size).toBe(19);
    const march = written.filter((row) => row.period === '1998-03');
    expect(march[0]?.as_of).toBe('1998-03-31');
    expect(asSqlRows(march)).toEqual(sqlRfm('1998-03-31', 365));
  });
});
