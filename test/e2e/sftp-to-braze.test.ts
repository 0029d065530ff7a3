import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGoldenRecords } from '../../store/identity';
import { availableBackends, SAMPLE_FILE, startE2E, type E2E } from '../support/e2e';

/**
 * The walking skeleton end to end: a real SFTP drop, a real Temporal server and worker, the
 * customer database, and the Braze emulator. Expected numbers come from the public file:
 * 1,000 rows, 23 with a malformed email; email OR (first name + surname + birth date) gives
 * 347 golden records (checked independently in test/e2e/expected-clusters.test.ts).
 */
describe.each(availableBackends())('sync from an SFTP drop to Braze on %s', (backend) => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({ backend });
    e2e.dropSample();
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  test('delivers every golden record of the sample file with its values', async () => {
    const report = await e2e.runSync();

    expect(report).toMatchObject({
      sync: 'eshop-to-braze',
      status: 'succeeded',
      recordsRead: 1000,
      recordsRejected: 23,
      goldenRecords: 347,
      recordsPlanned: 347,
      recordsDelivered: 347,
      requestsSent: 5,
    });
    expect(report.workflowId).toMatch(/^braid-sync-eshop-to-braze-run-/);
    expect(report.rejections).toContainEqual({
      stage: 'extract',
      file: 'customers_20260101.csv',
      line: 5,
      record: '3',
      field: 'email',
      reason: 'malformed email',
    });

    const golden = await loadGoldenRecords(e2e.db, 'customers');
    expect(golden).toHaveLength(347);
    expect(e2e.braze.stats().profiles).toBe(347);
    let attributes = 0;
    for (const record of golden) {
      const profile = e2e.braze.profile(record.masterId);
      const expected = {
        email: record.attributes.email,
        first_name: record.attributes.first_name,
        last_name: record.attributes.surname,
        dob: record.attributes.dob,
        home_city: record.attributes.city,
      };
      for (const [name, value] of Object.entries(expected)) {
        if (value) {
          expect(profile?.[name]).toBe(value);
          attributes += 1;
        } else {
          expect(profile).not.toHaveProperty(name);
        }
      }
    }
    expect(report.attributesSent).toBe(attributes);
    expect(report.dataPointsWritten).toBe(attributes);
  });

  test('a second run of the same drop sends nothing', async () => {
    const before = e2e.braze.stats().requests;

    const report = await e2e.runSync();

    expect(report.status).toBe('succeeded');
    expect(report.recordsPlanned).toBe(0);
    expect(report.requestsSent).toBe(0);
    expect(e2e.braze.stats().requests).toBe(before);
  });

  test('changing one field of one row sends exactly one attribute', async () => {
    const golden = await loadGoldenRecords(e2e.db, 'customers');
    const single = golden.find((g) => g.sourceKeys.length === 1 && g.attributes.city)!;
    const recordKey = single.sourceKeys[0]!.split(':')[1]!;
    const lines = readFileSync(SAMPLE_FILE, 'utf8').split('\n');
    const header = lines[0]!.split(',');
    const cityColumn = header.indexOf('city');
    const changed = lines.map((line, i) => {
      const cells = line.split(',');
      if (i === 0 || cells[0] !== recordKey) return line;
      cells[cityColumn] = 'Reykjavik';
      return cells.join(',');
    });
    writeFileSync(path.join(e2e.dropDir, 'customers_20260101.csv'), changed.join('\n'));
    const before = e2e.braze.stats().requests;

    const report = await e2e.runSync();

    expect(report).toMatchObject({
      status: 'succeeded',
      recordsPlanned: 1,
      requestsSent: 1,
      attributesSent: 1,
    });
    expect(e2e.braze.stats().requests).toBe(before + 1);
    expect(e2e.braze.requestLog().at(-1)).toMatchObject({
      attributeCount: 1,
      externalIds: [single.masterId],
    });
    expect(e2e.braze.profile(single.masterId)?.home_city).toBe('Reykjavik');
  });

  test('a broken CSV line and a malformed email are rejected with file, line and reason', async () => {
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260102.csv'),
      [
        'unique_id,first_name,surname,dob,city,email,cluster',
        '5001,Ada,Lovelace,1815-12-10,London,ada@example.org,9001',
        '5002,Bro"ken,Row,1990-01-01,Paris,broken@example.org,9002,extra',
        '5003,Alan,Turing,1912-06-23,Wilmslow,alan@example.org,9003',
        '5004,Grace,Hopper,1906-12-09,New York,grace-at-example.org,9004',
        '5005,Edsger,Dijkstra,1930-05-11,Austin,edsger@example.org,9005',
        '',
      ].join('\r\n'),
    );

    const report = await e2e.runSync();

    expect(report.status).toBe('succeeded');
    expect(report.recordsRead).toBe(5);
    expect(report.recordsRejected).toBe(2);
    const rejected = report.rejections.filter((r) => r.file === 'customers_20260102.csv');
    expect(rejected.map((r) => r.line)).toEqual([3, 5]);
    expect(rejected[0]!.reason).toMatch(/quote|column/i);
    expect(rejected[1]).toMatchObject({
      record: '5004',
      field: 'email',
      reason: 'malformed email',
    });
    const emails = e2e.braze.profiles().map((p) => p.email);
    expect(emails).toEqual(
      expect.arrayContaining(['ada@example.org', 'alan@example.org', 'edsger@example.org']),
    );
    expect(emails).not.toContain('broken@example.org');
    expect(report.recordsPlanned).toBe(3);
  });
});
