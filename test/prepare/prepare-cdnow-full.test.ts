import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { prepareDatasetNow } from '../../activities/prepare';
import { parseConfig } from '../../config/load';
import { unifyDataset } from '../../identity/unify-dataset';
import { migrate } from '../../store/db';
import { loadPreparedRecords } from '../../store/prepared';
import { openRun } from '../../store/runs';
import { stageRecords, type StageRow } from '../../store/staging';
import { sqlite } from '../support/databases';

const CDNOW = path.join(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');
const AS_OF = '1998-07-01';

const CONFIG = `
database: { client: sqlite, filename: ':memory:' }
sources:
  crm: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^c', recordKey: id }
  shop: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^o', recordKey: id }
datasets:
  customers:
    sources: [crm]
    keys: [{ name: email, columns: [email], normalize: email }]
    links: { orders: { dataset: orders, field: customer_id } }
    computed:
      order_count: { link: orders, op: count }
      total_spent: { link: orders, op: sum, column: amount }
      spent_90d: { link: orders, op: sum, column: amount, window: { days: 90 } }
    scores: { rfm: { link: orders, history: { lookbackDays: [30, 90] } } }
    asOf: '${AS_OF}'
  orders:
    kind: events
    sources: [shop]
    fields: { amount: number }
    events: { customer: customer_id, date: date, amount: amount, orderId: id }
destinations:
  braze: { type: braze, endpoint: 'http://127.0.0.1:1', apiKey: { env: X } }
syncs:
  s: { dataset: customers, destination: braze, mapping: { segment: segment } }
`;

/**
 * Prepare on the whole CDNOW file (69,659 order lines, 23,570 customers) on SQLite: prints
 * the time of the first (full) prepare and of an incremental one, for the README and the
 * lead's bench notes, and checks the segment counts against plain SQL.
 */
describe('prepareDataset on the full CDNOW file', () => {
  it('scores every customer and reports how long prepare takes', async () => {
    const { db, close } = await sqlite.open();
    try {
      await migrate(db);
      const config = parseConfig(CONFIG, 'braid.yaml');
      const now = Date.UTC(2026, 0, 1);
      const orders: StageRow[] = [];
      const customers = new Map<string, StageRow>();
      const sql = new Database(':memory:');
      sql.exec('CREATE TABLE o (c TEXT, day TEXT, cents INTEGER)');
      const insert = sql.prepare('INSERT INTO o VALUES (?, ?, ?)');
      readFileSync(CDNOW, 'latin1')
        .split('\n')
        .forEach((line, i) => {
          const m = /^\s*(\d+)\s+(\d{4})(\d{2})(\d{2})\s+\d+\s+(\d+)\.(\d\d)\s*$/.exec(line);
          if (!m) return;
          const [c, day, dollars] = [m[1]!, `${m[2]}-${m[3]}-${m[4]}`, `${m[5]}.${m[6]}`];
          insert.run(c, day, Number(m[5]) * 100 + Number(m[6]));
          const values = { id: String(i + 1), customer_id: c, date: day, amount: dollars };
          orders.push({
            source: 'shop',
            recordKey: values.id,
            values,
            sourceUpdatedAtMs: null,
            origin: `o:${i + 1}`,
          });
          const email = `customer${Number(c)}@cdnow.example`;
          const crm = { id: c, customer_id: c, email };
          customers.set(c, {
            source: 'crm',
            recordKey: c,
            values: crm,
            sourceUpdatedAtMs: null,
            origin: `c:${c}`,
          });
        });
      await stageRecords(db, [...customers.values()], now);
      await stageRecords(db, orders, now);
      await openRun(db, { runId: 'full', syncId: 's', trigger: 'test', startedAtMs: now });
      await unifyDataset(db, 'customers', config.datasets.customers!, {
        runId: 'full',
        nowMs: now,
      });

      let started = Date.now();
      const result = await prepareDatasetNow(
        { config, db, now: () => now },
        { runId: 'full', dataset: 'customers' },
      );
      const fullMs = Date.now() - started;
      const more = { id: 'extra', customer_id: '00042', date: '1998-06-30', amount: '99.00' };
      const extra = {
        source: 'shop',
        recordKey: 'extra',
        values: more,
        sourceUpdatedAtMs: null,
        origin: 'o:x',
      };
      await stageRecords(db, [extra], now);
      started = Date.now();
      const again = await prepareDatasetNow(
        { config, db, now: () => now },
        { runId: 'full', dataset: 'customers' },
      );
      const incrementalMs = Date.now() - started;
      process.stdout.write(
        `prepare on full CDNOW (SQLite, ${orders.length} orders, ${customers.size} customers): ` +
          `first ${fullMs} ms, after one new order ${incrementalMs} ms\n`,
      );

      expect(orders).toHaveLength(69_659);
      expect(result).toMatchObject({
        eventsChanged: 69_659,
        recordsPrepared: 23_570,
        customersRecomputed: -1,
      });
      expect(again).toMatchObject({ eventsChanged: 1, customersRecomputed: 1 });
      const prepared = await loadPreparedRecords(db, 'customers');
      const counts = new Map<string, number>();
      for (const p of prepared) counts.set(p.attributes.r!, (counts.get(p.attributes.r!) ?? 0) + 1);
      // R sextiles from plain SQL: 1 + floor(6 × customers with a strictly older last order / all).
      insert.run('00042', '1998-06-30', 9900);
      const expected = sql
        .prepare(
          `WITH agg AS (SELECT c, MAX(day) AS last FROM o GROUP BY c),
                total AS (SELECT COUNT(*) AS t FROM agg),
                ranked AS (SELECT MIN(6, 1 + 6 * (RANK() OVER (ORDER BY last) - 1) / t) AS r
                           FROM agg, total)
           SELECT r, COUNT(*) AS n FROM ranked GROUP BY r`,
        )
        .all() as Array<{ r: number; n: number }>;
      expect(Object.fromEntries(counts)).toEqual(
        Object.fromEntries(expected.map((e) => [String(e.r), e.n])),
      );
      sql.close();
    } finally {
      await close();
    }
  });
});
