import { Readable } from 'node:stream';

import { readFileRecords, type FileFormatOptions } from '../../connectors/files/file-records';
import { parseLocaleNumber } from '../../connectors/files/number-locale';
import { BadInputError } from '../../connectors/errors';
import { fileNameMatcher, isTemporaryName } from '../../connectors/sftp/file-names';
import { decideFile } from '../../connectors/sftp/stability';

/** Feeds `text` in chunks of `size` bytes, so records and characters straddle chunk edges. */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

async function readAll(text: string, format: FileFormatOptions, size = 3) {
  const out = [];
  for await (const item of readFileRecords(chunked(text, size), format, 'f')) out.push(item);
  return out;
}

describe('file formats', () => {
  it('splits a semicolon file on semicolons, never on decimal commas (BL-08)', async () => {
    const csv =
      'email;total_spent;orders\njonas.weber@example.de;1.234,50;3\nmia.keller@example.de;89,90;1\n';

    const items = await readAll(csv, { type: 'csv' });

    expect(items).toEqual([
      {
        kind: 'row',
        line: 2,
        position: 2,
        values: { email: 'jonas.weber@example.de', total_spent: '1.234,50', orders: '3' },
      },
      {
        kind: 'row',
        line: 3,
        position: 3,
        values: { email: 'mia.keller@example.de', total_spent: '89,90', orders: '1' },
      },
    ]);
  });

  it('honours a custom quote character', async () => {
    const csv = "id,note\n1,'a, b'\n2,'it''s'\n3,x'y\n";

    const items = await readAll(csv, { type: 'csv', quote: "'" });

    expect(items.map((i) => (i.kind === 'row' ? i.values.note : i.reason))).toEqual([
      'a, b',
      "it's",
      'quote inside unquoted value in column 2',
    ]);
  });

  it('streams a JSON array across chunk edges, flattening nested objects', async () => {
    const json =
      '\uFEFF[{"id":1,"name":"Léa \\"L\\" [x]","a":{"b":{"c":null}},"tags":["x","y"]},\n 7,\n{"id":2}]';

    const items = await readAll(json, { type: 'json' }, 1);

    expect(items).toEqual([
      {
        kind: 'row',
        position: 1,
        line: 1,
        values: { id: '1', name: 'Léa "L" [x]', 'a.b.c': '', tags: '["x","y"]' },
      },
      { kind: 'reject', position: 2, line: 2, reason: 'expected an object, found number' },
      { kind: 'row', position: 3, line: 3, values: { id: '2' } },
    ]);
  });

  it('refuses a JSON file that is not an array or is cut short, naming file and line', async () => {
    await expect(readAll('{"id":1}', { type: 'json' })).rejects.toThrow(
      new BadInputError('f:1: expected a JSON array of objects'),
    );
    await expect(readAll('[{"id":1},\n{"id":2', { type: 'json' })).rejects.toThrow(
      'f:2: the JSON array is not closed',
    );
  });

  it('reads locale numbers only in their own convention', () => {
    expect(parseLocaleNumber('1.234,50', 'de-DE')).toBe('1234.5');
    expect(parseLocaleNumber('89,90', 'de-DE')).toBe('89.9');
    expect(parseLocaleNumber('-3', 'de-DE')).toBe('-3');
    expect(parseLocaleNumber('89.90', 'de-DE')).toBeUndefined();
    expect(parseLocaleNumber('1 234,5', 'fr-FR')).toBe('1234.5');
    expect(parseLocaleNumber('1,234.5', 'en-US')).toBe('1234.5');
  });
});

describe('file names and stability', () => {
  it('never matches upload names, whatever the pattern', () => {
    const any = fileNameMatcher({ pattern: /.*/ });

    expect(['a.csv.part', 'a.tmp', 'a.csv.filepart', '.a.csv'].map((n) => any.matches(n))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(any.matches('a.csv')).toBe(true);
    expect(isTemporaryName('contacts_20260303.csv.part')).toBe(true);
  });

  it('reads dates from prefix + datePattern + suffix names and refuses impossible dates', () => {
    const dated = fileNameMatcher({
      prefix: 'contacts_',
      datePattern: 'YYYYMMDD_HHmm',
      suffix: '.csv',
    });

    expect(dated.dateOf('contacts_20260302_0930.csv')).toBe('2026-03-02T09:30:00Z');
    expect(dated.matches('contacts_20260230_0930.csv')).toBe(false);
    expect(dated.matches('contacts_20260302_0930.csv.part')).toBe(false);
    expect(dated.matches('xcontacts_20260302_0930.csv')).toBe(false);
  });

  it('follows the BL-06 listings: wait, wait after a change, import at 09:02', () => {
    const base = { stableMs: 60_000, mode: 'auto' as const, sourceStarted: true };
    const t = (hms: string) => Date.parse(`2026-03-02T${hms}Z`);
    const v1 = { sizeBytes: 40_960, modifiedAtMs: t('08:59:58') };
    const v2 = { sizeBytes: 81_920, modifiedAtMs: t('09:00:55') };

    const at0900 = decideFile({ ...base, listed: v1, known: undefined, nowMs: t('09:00:00') });
    const seen1 = { ...v1, status: 'seen' as const, seenSinceMs: t('09:00:00') };
    const at0901 = decideFile({ ...base, listed: v2, known: seen1, nowMs: t('09:01:00') });
    const seen2 = { ...v2, status: 'seen' as const, seenSinceMs: t('09:01:00') };
    const at0902 = decideFile({ ...base, listed: v2, known: seen2, nowMs: t('09:02:00') });
    const done = { ...v2, status: 'imported' as const, seenSinceMs: null };
    const at0903 = decideFile({ ...base, listed: v2, known: done, nowMs: t('09:03:00') });

    expect(at0900).toMatchObject({ action: 'wait', seenSinceMs: t('09:00:00') });
    expect(at0901).toMatchObject({ action: 'wait', seenSinceMs: t('09:01:00') });
    expect(at0902).toEqual({ action: 'import', resume: false, newVersion: false });
    expect(at0903).toEqual({ action: 'done' });
  });
});
