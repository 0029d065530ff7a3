import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { ConfigError } from '../../connectors/errors';
import type {
  OrderLine,
  OrdersItem,
  ReadOrdersOptions,
} from '../../connectors/files/orders-reader';
import {
  describeOrderReject,
  detectOrdersFormat,
  readOrders,
  readOrdersFile,
} from '../../connectors/files/orders-reader';

const CDNOW = path.join(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');

async function collect(
  input: string | Buffer | Readable,
  opts: Partial<ReadOrdersOptions> = {},
): Promise<OrdersItem[]> {
  const stream = input instanceof Readable ? input : Readable.from([input]);
  const items: OrdersItem[] = [];
  for await (const item of readOrders(stream, { fileName: 'orders.txt', ...opts })) {
    items.push(item);
  }
  return items;
}

/** Feeds text one byte at a time, so every line break and character straddles a chunk. */
function byteByByte(text: string): Readable {
  const bytes = Buffer.from(text, 'utf8');
  return Readable.from(
    (function* () {
      for (const byte of bytes) yield Buffer.from([byte]);
    })(),
  );
}

function cdnowOrder(
  line: number,
  customerId: string,
  date: string,
  amount: number,
  quantity: number,
): OrderLine {
  return { kind: 'order', line, customerId, date, amount, quantity };
}

describe('detectOrdersFormat', () => {
  it.each([
    [' customer_id  date number_of_cds  dollar_value\r\n', 'cdnow'],
    [' 00001 19970101  1   11.77\n', 'cdnow'],
    ['customer_id,date,amount\n', 'csv'],
    ['customer id;order date;amount;order id\n', 'csv'],
    ['customer_id\tdate\tamount\n', 'csv'],
  ])('reads %j as %s', (line, format) => {
    expect(detectOrdersFormat(line)).toBe(format);
  });
});

describe('readOrders (CDNOW)', () => {
  it('reads all 69,659 lines of CDNOW_master.txt, skipping its header', async () => {
    const orders: OrderLine[] = [];

    const summary = await readOrdersFile(CDNOW, {}, (order) => orders.push(order));

    expect(summary).toEqual({
      fileName: 'CDNOW_master.txt',
      format: 'cdnow',
      rowsRead: 69_659,
      rejected: 0,
      rejects: [],
    });
    expect(orders[0]).toEqual({
      kind: 'order',
      line: 2,
      customerId: '00001',
      date: '1997-01-01',
      amount: 11.77,
      quantity: 1,
    });
    expect(orders[orders.length - 1]).toMatchObject({ line: 69_660, customerId: '23570' });
    expect(new Set(orders.map((order) => order.customerId)).size).toBe(23_570);
    const cents = orders.reduce((sum, order) => sum + Math.round(order.amount * 100), 0);
    expect(cents).toBe(250_031_563);
  });

  it('reports bad lines with line and field and keeps reading, even byte by byte', async () => {
    const text = [
      ' 00001 19970101  1   11.77',
      ' 00002 19970231  1   12.00',
      ' 00003 19970102  two 20.76',
      ' 00004 19970103  1   $9.99',
      ' 00005 19970104  1',
      '',
      ' 00006 19970105  3   29.97',
    ].join('\r\n');

    const whole = await collect(text);
    const split = await collect(byteByByte(text));

    expect(whole).toEqual([
      { kind: 'format', format: 'cdnow' },
      cdnowOrder(1, '00001', '1997-01-01', 11.77, 1),
      { kind: 'reject', line: 2, field: 'date', reason: 'not a yyyymmdd date' },
      { kind: 'reject', line: 3, field: 'number_of_cds', reason: 'not a whole number' },
      { kind: 'reject', line: 4, field: 'dollar_value', reason: 'not a number' },
      { kind: 'reject', line: 5, reason: 'expected 4 fields, found 3' },
      cdnowOrder(7, '00006', '1997-01-05', 29.97, 3),
    ]);
    expect(split).toEqual(whole);
  });

  it('reads CDNOW layout when told to, whatever the first line looks like', async () => {
    const items = await collect('00001 19970101 1 11.77\n', { format: 'cdnow' });

    expect(items[0]).toEqual({ kind: 'format', format: 'cdnow' });
    expect(items[1]).toMatchObject({ kind: 'order', customerId: '00001', amount: 11.77 });
  });
});

describe('readOrders (CSV)', () => {
  it('reads named columns, order ids and instants reduced to their UTC day', async () => {
    const csv = [
      'Kunde;Bestellung;Zeitpunkt;Betrag',
      'K-1;B-10;2026-03-01T23:30:00-02:00;19.90',
      'K-1;B-10;2026-03-02;5',
      'K-2;;20260302;-3.50',
      ';B-11;2026-03-02;1.00',
      'K-3;B-12;2026-03-02;1.234,50',
      'K-4;B-13;gestern;1.00',
      'K-5;B-14;2026-03-02',
    ].join('\n');

    const items = await collect(csv, {
      columns: { customer: 'Kunde', order: 'Bestellung', date: 'Zeitpunkt', amount: 'Betrag' },
    });

    expect(items).toEqual([
      { kind: 'format', format: 'csv' },
      {
        kind: 'order',
        line: 2,
        customerId: 'K-1',
        orderId: 'B-10',
        date: '2026-03-02',
        amount: 19.9,
      },
      { kind: 'order', line: 3, customerId: 'K-1', orderId: 'B-10', date: '2026-03-02', amount: 5 },
      { kind: 'order', line: 4, customerId: 'K-2', date: '2026-03-02', amount: -3.5 },
      { kind: 'reject', line: 5, field: 'Kunde', reason: 'missing' },
      {
        kind: 'reject',
        line: 6,
        field: 'Betrag',
        reason: 'not a number (a decimal comma? give --number-locale, e.g. de-DE)',
      },
      {
        kind: 'reject',
        line: 7,
        field: 'Zeitpunkt',
        reason: 'not a date (YYYY-MM-DD, yyyymmdd or ISO 8601)',
      },
      { kind: 'reject', line: 8, reason: 'expected 4 columns, found 3' },
    ]);
  });

  it('reads amounts written as in a locale when given one', async () => {
    const csv = [
      'customer;date;amount',
      'K-1;2026-03-02;1.234,50',
      'K-1;2026-03-03;-3,5',
      'K-2;2026-03-04;89.90',
    ].join('\n');

    const items = await collect(csv, { columns: { customer: 'customer' }, numberLocale: 'de-DE' });

    expect(items).toEqual([
      { kind: 'format', format: 'csv' },
      { kind: 'order', line: 2, customerId: 'K-1', date: '2026-03-02', amount: 1234.5 },
      { kind: 'order', line: 3, customerId: 'K-1', date: '2026-03-03', amount: -3.5 },
      // Not a de-DE number: groups of three digits only, so 89.90 is not read as 8990.
      { kind: 'reject', line: 4, field: 'amount', reason: 'not a number as written in de-DE' },
    ]);
  });

  it('refuses a file without a named column, listing the columns it has', async () => {
    const read = collect('customer_id,day,amount\nc1,2026-01-01,1\n');

    await expect(read).rejects.toThrow(ConfigError);
    await expect(read).rejects.toThrow(
      'orders.txt has no column "date"; its columns are customer_id, day, amount',
    );
  });

  it('counts good and bad rows of a file and describes rejects as file:line [field]', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'braid-orders-'));
    const file = path.join(dir, 'orders_2026.csv');
    writeFileSync(file, 'customer_id,date,amount\nc1,2026-01-01,10\nc2,2026-01-01,ten\n');
    const orders: OrderLine[] = [];

    try {
      const summary = await readOrdersFile(file, {}, (order) => orders.push(order));

      expect(summary).toMatchObject({ format: 'csv', rowsRead: 2, rejected: 1 });
      expect(orders.map((order) => order.customerId)).toEqual(['c1']);
      expect(describeOrderReject(summary.fileName, summary.rejects[0]!)).toBe(
        'orders_2026.csv:3 [amount] not a number',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
