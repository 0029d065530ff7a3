import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';

import { describeSource, formatDescription } from '../../client/commands/source';
import { parseConfig } from '../../config/load';
import { startSftpServer, type RunningSftpServer } from '../../emulators/sftp/server';
import { startZendeskEmulator, type ZendeskEmulator } from '../../emulators/zendesk';

const USER = 'partner';
const PASSWORD = 'describe-test-password';
const ZD_EMAIL = 'admin@example.org';
const ZD_TOKEN = 'describe-zendesk-token';

describe('braid source describe', () => {
  let dir: string;
  let sftp: RunningSftpServer;
  let zendesk: ZendeskEmulator;
  let configFile: string;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'braid-describe-'));
    const drop = path.join(dir, 'sftp', 'drop');
    await fsp.mkdir(drop, { recursive: true });
    await fsp.writeFile(
      path.join(drop, 'contacts_20260301.csv'),
      'email,old_column\na@example.org,1\n',
    );
    await fsp.writeFile(
      path.join(drop, 'contacts_20260302.csv'),
      [
        'email;phone;birth_date;total_spent;vip;city',
        'jonas.weber@example.de;+49 30 1234567;1990-04-01;1.234,50;true;Berlin',
        'mia.keller@example.de;030 7654321;1985-12-24;89,90;false;',
        'bad;line',
      ].join('\n'),
    );
    await fsp.writeFile(path.join(drop, 'contacts_20260303.csv.part'), 'email\nhalf@example.org\n');
    sftp = await startSftpServer({
      root: path.join(dir, 'sftp'),
      username: USER,
      password: PASSWORD,
    });

    const crm = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'crm.db') },
      useNullAsDefault: true,
    });
    await crm.schema.createTable('customers', (t) => {
      t.integer('id').primary();
      t.string('email').notNullable();
      t.decimal('total_spent');
      t.dateTime('updated_at');
    });
    await crm.destroy();

    zendesk = await startZendeskEmulator({
      credentials: [{ email: ZD_EMAIL, apiToken: ZD_TOKEN }],
      users: [
        { id: 1, name: 'Lea', email: 'lea@example.org', updated_at: '2026-01-01T00:00:00Z' },
        { id: 2, name: 'Jonas', email: null, updated_at: '2026-01-01T00:00:05Z' },
      ],
    });

    process.env.DESCRIBE_SFTP_PASSWORD = PASSWORD;
    process.env.DESCRIBE_ZD_TOKEN = ZD_TOKEN;
    configFile = path.join(dir, 'braid.yaml');
  });

  afterAll(async () => {
    await sftp.stop();
    await zendesk.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  function config(format = '{ type: csv }') {
    const yaml = `
database: { client: sqlite, filename: braid.db }
sources:
  drop:
    type: sftp
    host: 127.0.0.1
    port: ${sftp.port}
    username: ${USER}
    password: { env: DESCRIBE_SFTP_PASSWORD }
    directory: /drop
    prefix: contacts_
    datePattern: YYYYMMDD
    suffix: .csv
    format: ${format}
    recordKey: email
  crm:
    type: sql
    client: sqlite
    connection: crm.db
    table: customers
    keyColumn: id
    cursorColumn: updated_at
  helpdesk:
    type: zendesk
    url: ${zendesk.url}
    email: ${ZD_EMAIL}
    apiToken: { env: DESCRIBE_ZD_TOKEN }
    object: users
  shop:
    type: webhook
    recordKey: order_id
    updatedAt: occurred_at
    auth: { bearer: { env: DESCRIBE_HOOK_TOKEN } }
datasets:
  people:
    sources: [drop, shop]
    fields: { email: email, total: number }
    keys: [{ name: email, columns: [email], normalize: email }]
destinations: {}
syncs: {}
`;
    return parseConfig(yaml, configFile);
  }

  it('samples the newest dated file and guesses each column type with counts', async () => {
    const described = await describeSource(config(), 'drop', configFile);

    expect(described.file).toMatchObject({ name: 'contacts_20260302.csv', fileDate: '2026-03-02' });
    expect(described).toMatchObject({ sampled: 2, rejected: 1 });
    expect(described.fields).toEqual([
      { name: 'email', type: 'email', filled: 2, matching: 2 },
      { name: 'phone', type: 'phone', filled: 2, matching: 2 },
      { name: 'birth_date', type: 'date', filled: 2, matching: 2 },
      {
        name: 'total_spent',
        type: 'string',
        filled: 2,
        matching: 2,
        note: 'decimal commas: declare format.numberLocale to read it as a number',
      },
      { name: 'vip', type: 'boolean', filled: 2, matching: 2 },
      { name: 'city', type: 'string', filled: 1, matching: 1 },
    ]);
    expect(formatDescription(described)).toContain(
      '  sampled contacts_20260302.csv, dated 2026-03-02: 2 records (1 rejected)',
    );
  });

  it('guesses a decimal-comma column as number once the locale is declared (BL-08)', async () => {
    const described = await describeSource(
      config('{ type: csv, numberLocale: de-DE }'),
      'drop',
      configFile,
    );

    expect(described.fields.find((f) => f.name === 'total_spent')).toEqual({
      name: 'total_spent',
      type: 'number',
      filled: 2,
      matching: 2,
    });
  });

  it('lists a SQL table columns with their SQL types', async () => {
    const described = await describeSource(config(), 'crm', configFile);

    expect(described.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'number'],
      ['email', 'string'],
      ['total_spent', 'number'],
      ['updated_at', 'datetime'],
    ]);
    expect(described.fields[1]).toMatchObject({ nullable: false });
  });

  it('describes Zendesk users from the first export page of the emulator', async () => {
    const described = await describeSource(config(), 'helpdesk', configFile);

    const byName = new Map(described.fields.map((f) => [f.name, f]));
    expect(byName.get('id')).toMatchObject({ type: 'number', nullable: false });
    expect(byName.get('email')).toMatchObject({ nullable: true });
    expect(described.type).toBe('zendesk');
  });

  it('lists the declared columns of a webhook source', async () => {
    const described = await describeSource(config(), 'shop', configFile);

    expect(described.fields).toEqual([
      { name: 'order_id', type: 'string', sourceType: 'recordKey' },
      { name: 'occurred_at', type: 'date', sourceType: 'updatedAt' },
      { name: 'email', type: 'email', sourceType: 'datasets.people.fields' },
      { name: 'total', type: 'number', sourceType: 'datasets.people.fields' },
    ]);
  });

  it('names the configured sources when the source is unknown', async () => {
    await expect(describeSource(config(), 'nope', configFile)).rejects.toThrow(
      'unknown source "nope" (configured: drop, crm, helpdesk, shop)',
    );
  });
});
