import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pairwiseScore } from '../../bench/pairwise-score';
import { dedupeFile } from '../../identity/dedupe-file';
import { SAMPLE_FILE } from '../support/e2e';

function readOutput(file: string): Array<[string, string]> {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines[0]).toBe('record_id,master_id');
  return lines.slice(1).map((line) => line.split(',') as [string, string]);
}

function truthOf(file: string): Array<[string, string]> {
  const [header, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const columns = header!.split(',');
  const id = columns.indexOf('unique_id');
  const cluster = columns.indexOf('cluster');
  return rows.map((row) => {
    const cells = row.split(',');
    return [cells[id]!, cells[cluster]!];
  });
}

describe('braid dedupe file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'braid-dedupe-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('infers the rules from the Splink sample, prints them, and maps every row', async () => {
    const out = path.join(dir, 'out.csv');
    const result = await dedupeFile({ file: SAMPLE_FILE, out, idColumn: 'unique_id' });

    expect(result.inferred).toBe(true);
    expect(result.rulesYaml).toContain('name: email');
    expect(result.rulesYaml).toContain('columns: [ first_name, surname, dob ]');
    expect(result.rulesYaml).toContain('name: fuzzy_name');
    const rows = readOutput(out);
    expect(rows).toHaveLength(1000);
    expect(rows[0]).toEqual(['0', expect.stringMatching(/^[0-9a-f-]{36}$/)]);

    // Master ids come from the data: the same file gives the same ids in a fresh database.
    const again = path.join(dir, 'again.csv');
    await dedupeFile({ file: SAMPLE_FILE, out: again, idColumn: 'unique_id' });
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));

    const score = pairwiseScore(rows, truthOf(SAMPLE_FILE));
    expect(result.summary.goldenRecords).toBe(
      new Set(rows.map(([, m]) => m).filter((m) => m)).size,
    );
    // Measured when the default rules were written; the fuzzy rule set adds recall over 0.689.
    expect({
      golden: result.summary.goldenRecords,
      ambiguous: result.summary.ambiguous,
      precision: score.precision.toFixed(3),
      recall: score.recall.toFixed(3),
    }).toEqual({ golden: 344, ambiguous: 0, precision: '1.000', recall: '0.718' });
  });

  it('uses a rule file as given, and holds a shared mailbox row back (BL-15)', async () => {
    const csv = path.join(dir, 'contacts.csv');
    writeFileSync(
      csv,
      'source,source_id,email,phone,first_name\n' +
        'salesforce,003A1,contact@bistro-lune.example,+33611111111,Hugo\n' +
        'salesforce,003A2,contact@bistro-lune.example,+33622222222,Ines\n' +
        'zendesk,9001,contact@bistro-lune.example,,\n',
    );
    const rules = path.join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      'keys:\n' +
        '  - { name: email, columns: [email], normalize: email }\n' +
        '  - { name: phone, columns: [phone], normalize: phone }\n',
    );
    const out = path.join(dir, 'out.csv');
    const result = await dedupeFile({ file: csv, out, idColumn: 'source_id', rulesFile: rules });

    expect(result.inferred).toBe(false);
    const rows = readOutput(out);
    expect(rows.map(([id]) => id)).toEqual(['003A1', '003A2', '9001']);
    expect(new Set([rows[0]![1], rows[1]![1]]).size).toBe(2);
    expect(rows[2]![1]).toBe('');
    expect(result.summary).toMatchObject({ goldenRecords: 2, ambiguous: 1 });
  });

  it('names the rule file and the missing column when a key does not fit the file', async () => {
    const rules = path.join(dir, 'rules.yaml');
    writeFileSync(rules, 'keys:\n  - { name: mail, columns: [e_mail] }\n');
    await expect(
      dedupeFile({ file: SAMPLE_FILE, out: path.join(dir, 'o.csv'), rulesFile: rules }),
    ).rejects.toThrow(`${rules}: key "mail" uses e_mail, not in ${SAMPLE_FILE}`);
  });
});
