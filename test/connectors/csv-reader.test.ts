import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { BadInputError, ConfigError } from '../../connectors/errors';
import { detectDelimiter, findQuoteProblem, readCsv } from '../../connectors/files/csv-reader';
import type { CsvHeader, CsvItem, ReadCsvOptions } from '../../connectors/files/csv-reader';

const SPLINK_FAKE_1000 = '/work/shared/data/splink/fake_1000.csv';

async function collect(
  input: string | Buffer | Readable,
  opts: Partial<ReadCsvOptions> = {},
): Promise<Array<CsvHeader | CsvItem>> {
  const stream = input instanceof Readable ? input : Readable.from([input]);
  const items: Array<CsvHeader | CsvItem> = [];
  for await (const item of readCsv(stream, { fileName: 'test.csv', ...opts })) items.push(item);
  return items;
}

function linesOf(items: Array<CsvHeader | CsvItem>): string[] {
  return items.flatMap((item) => (item.kind === 'header' ? [] : [`${item.kind}@${item.line}`]));
}

describe('readCsv', () => {
  it('strips a UTF-8 BOM and CRLF line ends (BL-07)', async () => {
    const body =
      'email,first_name,updated_at\r\n' + 'lea.martin@example.org,Léa,2026-03-01T10:00:00Z\r\n';
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body, 'utf8')]);

    const items = await collect(withBom);

    expect(items).toEqual([
      { kind: 'header', columns: ['email', 'first_name', 'updated_at'], delimiter: ',' },
      {
        kind: 'row',
        line: 2,
        values: {
          email: 'lea.martin@example.org',
          first_name: 'Léa',
          updated_at: '2026-03-01T10:00:00Z',
        },
      },
    ]);
    const header = items[0] as CsvHeader;
    expect(header.columns[0]).toHaveLength(5);
    expect(header.columns[0]).not.toContain('\uFEFF');
    expect(await collect(Buffer.from(body, 'utf8'))).toEqual(items);
  });

  it('detects semicolons and keeps decimal commas inside their field (BL-08)', async () => {
    const csv = [
      'email;total_spent;orders',
      'jonas.weber@example.de;1.234,50;3',
      'mia.keller@example.de;89,90;1',
      '',
    ].join('\n');

    const items = await collect(csv);

    expect(items).toEqual([
      { kind: 'header', columns: ['email', 'total_spent', 'orders'], delimiter: ';' },
      {
        kind: 'row',
        line: 2,
        values: { email: 'jonas.weber@example.de', total_spent: '1.234,50', orders: '3' },
      },
      {
        kind: 'row',
        line: 3,
        values: { email: 'mia.keller@example.de', total_spent: '89,90', orders: '1' },
      },
    ]);
  });

  it('rejects a row with the wrong column count and continues after it', async () => {
    const csv = [
      'id,email,first_name,surname,dob,city,cluster',
      '1,a@example.org,Ann,Lee,1990-01-01,London,0',
      '2,b@example.org,Bob,Ray,1991-02-02,Leeds,1',
      '3,c@example.org,Cy,Cole,1992-03-03,York,2,extra',
      '4,d@example.org,Di,Dee,1993-04-04,Bath,3',
      '5,e@example.org,Ed,Eve,1994-05-05,Hull,4',
    ].join('\n');

    const items = await collect(csv);

    expect(items[3]).toEqual({ kind: 'reject', line: 4, reason: 'expected 7 columns, found 8' });
    expect(linesOf(items)).toEqual(['row@2', 'row@3', 'reject@4', 'row@5', 'row@6']);
    expect(items[5]).toMatchObject({ kind: 'row', line: 6, values: { id: '5', city: 'Hull' } });
  });

  it('counts the lines of a quoted field with embedded line breaks', async () => {
    const csv = 'id,note\n1,"two\nlines"\n2,"three\r\nphysical\r\nlines"\n3,plain\n4,x,y\n5,last';

    const items = await collect(csv);

    expect(items[1]).toEqual({ kind: 'row', line: 2, values: { id: '1', note: 'two\nlines' } });
    expect(items[2]).toMatchObject({ line: 4, values: { note: 'three\r\nphysical\r\nlines' } });
    expect(linesOf(items)).toEqual(['row@2', 'row@4', 'row@7', 'reject@8', 'row@9']);
  });

  it('skips blank lines but keeps physical line numbers', async () => {
    const csv = '\r\nemail,name\r\n\r\na@example.org,A\r\n\r\n\r\nb@example.org,B\r\n\r\n';

    const items = await collect(csv);

    expect(items[0]).toEqual({ kind: 'header', columns: ['email', 'name'], delimiter: ',' });
    expect(linesOf(items)).toEqual(['row@4', 'row@7']);
  });

  it('rejects broken quoting and continues with the next row', async () => {
    const csv = 'a,b,c\n1,"b"c,3\n4,5,6\n7,x"y,9\n10,"ok ""quoted""",12\n';

    const items = await collect(csv);

    expect(items.slice(1)).toEqual([
      { kind: 'reject', line: 2, reason: 'unexpected character after closing quote in column 2' },
      { kind: 'row', line: 3, values: { a: '4', b: '5', c: '6' } },
      { kind: 'reject', line: 4, reason: 'quote inside unquoted value in column 2' },
      { kind: 'row', line: 5, values: { a: '10', b: 'ok "quoted"', c: '12' } },
    ]);
  });

  it('rejects an unclosed quote at the end of the file instead of failing', async () => {
    const csv = 'a,b,c\n1,2,3\n\n4,"5,6\n7,8,9\n';

    const items = await collect(csv);

    expect(items.slice(1)).toEqual([
      { kind: 'row', line: 2, values: { a: '1', b: '2', c: '3' } },
      { kind: 'reject', line: 4, reason: 'quote not closed at end of file' },
    ]);
  });

  it('trims header names but keeps values as they are', async () => {
    const items = await collect('email, given_name ,city\n a@example.org , Léa,\n');

    expect(items).toEqual([
      { kind: 'header', columns: ['email', 'given_name', 'city'], delimiter: ',' },
      { kind: 'row', line: 2, values: { email: ' a@example.org ', given_name: ' Léa', city: '' } },
    ]);
  });

  it('takes the delimiter from the options over detection', async () => {
    const items = await collect('a;b|c\n1;2|3\n', { delimiter: '|' });

    expect(items).toEqual([
      { kind: 'header', columns: ['a;b', 'c'], delimiter: '|' },
      { kind: 'row', line: 2, values: { 'a;b': '1;2', c: '3' } },
    ]);
  });

  it('refuses a configured delimiter that cannot work', async () => {
    await expect(collect('a;;b\n', { delimiter: ';;' })).rejects.toBeInstanceOf(ConfigError);
    await expect(collect('a"b\n', { delimiter: '"' })).rejects.toBeInstanceOf(ConfigError);
  });

  it.each([
    ['email,name', ','],
    ['email;name;city', ';'],
    ['email\tname', '\t'],
    ['email|name', '|'],
    ['"last, first";email;city', ';'],
    ['a,b;c', ','],
    ['email', ','],
  ])('detects the delimiter of %j as %j', (header, expected) => {
    expect(detectDelimiter(header)).toBe(expected);
  });

  it.each([
    ['1,"a",3\n', undefined],
    ['1,"a ""b""",3', undefined],
    ['"multi\nline",2\r', undefined],
    ['1,"a"b,3', 'unexpected character after closing quote in column 2'],
    ['1,a"b,3', 'quote inside unquoted value in column 2'],
    ['1,2,"open', 'quote not closed in column 3'],
  ])('checks the quoting of %j', (raw, expected) => {
    expect(findQuoteProblem(raw, ',')).toBe(expected);
  });

  it('refuses a file without a header or with repeated column names', async () => {
    await expect(collect('')).rejects.toBeInstanceOf(BadInputError);
    await expect(collect('email,email\n1,2\n')).rejects.toThrow(/repeats the column name "email"/);
  });

  it('stores a column named __proto__ as a plain value', async () => {
    const items = await collect('__proto__,b\nx,y\n');

    const row = items[1] as Extract<CsvItem, { kind: 'row' }>;
    expect(Object.keys(row.values)).toEqual(['__proto__', 'b']);
    expect(row.values['__proto__']).toBe('x');
  });

  it('streams 200,000 rows without reading ahead of the consumer', async () => {
    const ROWS = 200_000;
    let producedBytes = 0;
    async function* generate(): AsyncGenerator<string> {
      yield 'id,email,amount\n';
      for (let i = 1; i <= ROWS; i += 1000) {
        let chunk = '';
        for (let j = i; j < i + 1000; j++) chunk += `${j},user${j}@example.org,${j % 97}.50\n`;
        producedBytes += chunk.length;
        yield chunk;
      }
    }

    let rows = 0;
    let maxReadAheadBytes = 0;
    let consumedBytes = 0;
    for await (const item of readCsv(Readable.from(generate()), { fileName: 'big.csv' })) {
      if (item.kind !== 'row') continue;
      rows++;
      consumedBytes += `${item.values.id},${item.values.email},${item.values.amount}\n`.length;
      maxReadAheadBytes = Math.max(maxReadAheadBytes, producedBytes - consumedBytes);
      if (rows === ROWS) expect(item).toMatchObject({ line: ROWS + 1, values: { id: '200000' } });
    }

    expect(rows).toBe(ROWS);
    expect(maxReadAheadBytes).toBeLessThan(4 * 1024 * 1024);
  });

  it('refuses a record that grows past 16 MiB behind an unclosed quote', async () => {
    async function* generate(): AsyncGenerator<string> {
      yield 'id,note\n1,ok\n2,"never closed\n';
      const filler = 'x'.repeat(64 * 1024) + '\n';
      for (let i = 0; i < 300; i++) yield filler;
    }

    await expect(collect(Readable.from(generate()))).rejects.toThrow(/record over 16 MiB/);
  });

  it('destroys the input when the consumer stops early', async () => {
    const input = Readable.from(['a,b\n', '1,2\n', '3,4\n', '5,6\n']);

    for await (const item of readCsv(input, { fileName: 'early.csv' })) {
      if (item.kind === 'row') break;
    }

    expect(input.destroyed).toBe(true);
  });

  it('reads the public splink sample: 1000 rows with its seven columns', async () => {
    const items = await collect(createReadStream(SPLINK_FAKE_1000), { fileName: 'fake_1000.csv' });

    expect(items[0]).toEqual({
      kind: 'header',
      columns: ['unique_id', 'first_name', 'surname', 'dob', 'city', 'email', 'cluster'],
      delimiter: ',',
    });
    expect(items.filter((item) => item.kind === 'row')).toHaveLength(1000);
    expect(items.filter((item) => item.kind === 'reject')).toEqual([]);
    expect(items[1]).toMatchObject({ line: 2, values: { unique_id: '0', first_name: 'Julia ' } });
    expect(items[1000]).toMatchObject({ line: 1001 });
  });
});

describe('readCsv and encodings', () => {
  it('rejects a Latin-1 row read as UTF-8 instead of staging replacement characters', async () => {
    const { Readable } = await import('node:stream');
    const { readCsv } = await import('../../connectors/files/csv-reader');
    const bytes = Buffer.concat([
      Buffer.from('id,first_name\n1,'),
      Buffer.from('Åsa', 'latin1'),
      Buffer.from('\n2,Bob\n'),
    ]);
    const read = async (encoding?: BufferEncoding) => {
      const items = [];
      for await (const item of readCsv(Readable.from([bytes]), {
        fileName: 'people.csv',
        encoding,
      })) {
        items.push(item);
      }
      return items.slice(1);
    };

    expect(await read()).toEqual([
      { kind: 'reject', line: 2, reason: 'not valid UTF-8; set the encoding (e.g. latin1)' },
      { kind: 'row', line: 3, values: { id: '2', first_name: 'Bob' } },
    ]);
    expect((await read('latin1'))[0]).toEqual({
      kind: 'row',
      line: 2,
      values: { id: '1', first_name: 'Åsa' },
    });
  });
});
