import knexFactory from 'knex';
import { SqlSourceConfig } from '../../config/sources/sql';
import { AuthError, BadInputError, ConfigError, UpstreamError } from '../../connectors/errors';
import { compareCursorValues, fullRefreshRun } from '../../connectors/sql/cursor';
import { dialectFor } from '../../connectors/sql/dialects';
import { classifySqlError, redact } from '../../connectors/sql/driver-errors';
import { sqlTableOptions } from '../../config/sources/sql';
import { valueText } from '../../connectors/sql/row-values';
import { formatWallTime, parseTimeText } from '../../connectors/sql/zoned-time';

const T = (iso: string): number => Date.parse(iso);

describe('parseTimeText', () => {
  it.each([
    ['2026-03-29 01:30:00', 'UTC', '2026-03-29T01:30:00.000Z'],
    ['2026-03-29T01:30:00.123456', 'UTC', '2026-03-29T01:30:00.123Z'],
    ['2026-03-29 03:30:00', 'Europe/Paris', '2026-03-29T01:30:00.000Z'],
    ['2026-03-29 01:30:00', 'Europe/Paris', '2026-03-29T00:30:00.000Z'],
    // Skipped by the spring change: moves forward by the gap.
    ['2026-03-29 02:30:00', 'Europe/Paris', '2026-03-29T01:30:00.000Z'],
    // Occurs twice in autumn: the first occurrence (still summer time).
    ['2026-10-25 02:30:00', 'Europe/Paris', '2026-10-25T00:30:00.000Z'],
    ['2026-03-29 01:30:00+00', 'Europe/Paris', '2026-03-29T01:30:00.000Z'],
    ['2026-03-29 01:30:00-05:30', 'UTC', '2026-03-29T07:00:00.000Z'],
    ['2026-03-29', 'America/Los_Angeles', '2026-03-29T07:00:00.000Z'],
  ])('reads %s in %s as %s', (text, zone, iso) => {
    expect(new Date(parseTimeText(text, zone)!).toISOString()).toBe(iso);
  });

  it.each(['infinity', '0000-00-00 00:00:00', '2026-02-30 10:00:00', 'next tuesday', ''])(
    'returns null for %j',
    (text) => {
      expect(parseTimeText(text, 'UTC')).toBeNull();
    },
  );
});

describe('time literals', () => {
  const instant = T('2026-03-29T01:30:00Z');

  it('formats MySQL DATETIME bounds as wall time in the declared zone', () => {
    const mysql = dialectFor('mysql');
    expect(mysql.timeLiteral('timestamp', instant, 'UTC')).toBe('2026-03-29 01:30:00');
    expect(mysql.timeLiteral('timestamp', instant, 'Europe/Paris')).toBe('2026-03-29 03:30:00');
    expect(mysql.timeLiteral('timestamp', instant + 250, 'UTC')).toBe('2026-03-29 01:30:00.250');
    expect(mysql.timeLiteral('timestamptz', instant, 'Europe/Paris')).toBe('2026-03-29 01:30:00');
    expect(mysql.timeLiteral('date', instant, 'America/Los_Angeles')).toBe('2026-03-28');
  });

  it('formats PostgreSQL and SQLite bounds as each server prints them', () => {
    expect(dialectFor('postgres').timeLiteral('timestamptz', instant, 'Europe/Paris')).toBe(
      '2026-03-29 01:30:00+00',
    );
    expect(dialectFor('postgres').timeLiteral('timestamp', instant, 'UTC')).toBe(
      '2026-03-29 01:30:00',
    );
    expect(dialectFor('sqlite').timeLiteral('timestamp', instant, 'UTC')).toBe(
      '2026-03-29 01:30:00.000',
    );
    expect(formatWallTime(instant, 'America/Los_Angeles')).toBe('2026-03-28 18:30:00.000');
  });

  it('reads MySQL dates as text in a UTC session and builds keyset SQL with backticks', () => {
    const config = dialectFor('mysql').knexConfig('mysql://braid:pw@db:3306/shop');
    const db = knexFactory({ client: 'mysql2' });
    const cursor = dialectFor('mysql').cursorExpr(db, 'updated_at', 'timestamp');

    const sql = db('orders')
      .whereRaw('((? > ?) or (? = ? and ?? > ?))', [cursor, 'c', cursor, 'c', 'id', 5])
      .orderByRaw('? asc, ?? asc', [cursor, 'id'])
      .toSQL().sql;

    expect(config.connection).toMatchObject({
      dateStrings: true,
      timezone: 'Z',
      bigNumberStrings: true,
    });
    expect(sql).toBe(
      'select * from `orders` where ((`updated_at` > ?) or (`updated_at` = ? and `id` > ?)) order by `updated_at` asc, `id` asc',
    );
    expect(dialectFor('mysql').describeTarget('mysql://braid:pw@db:3306/shop')).toBe(
      'mysql db:3306/shop',
    );
  });
});

describe('classifySqlError', () => {
  const where = 'SQL source "shop" (mysql db:3306/shop, orders)';

  it.each([
    [
      'mysql',
      { errno: 1045, code: 'ER_ACCESS_DENIED_ERROR', message: "Access denied for user 'braid'" },
      AuthError,
    ],
    [
      'mysql',
      { errno: 1146, code: 'ER_NO_SUCH_TABLE', message: "Table 'shop.orders' doesn't exist" },
      ConfigError,
    ],
    [
      'mysql',
      { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT', message: 'Lock wait timeout' },
      UpstreamError,
    ],
    ['mysql', { code: 'PROTOCOL_CONNECTION_LOST', message: 'Connection lost' }, UpstreamError],
    ['postgres', { code: '28P01', message: 'password authentication failed' }, AuthError],
    ['postgres', { code: '42P01', message: 'relation "orders" does not exist' }, ConfigError],
    ['postgres', { code: '22007', message: 'invalid datetime format' }, BadInputError],
    ['postgres', { code: '57P01', message: 'terminating connection' }, UpstreamError],
    ['sqlite', { code: 'SQLITE_CANTOPEN', message: 'unable to open database file' }, ConfigError],
    ['sqlite', { code: 'SQLITE_BUSY', message: 'database is locked' }, UpstreamError],
    ['postgres', { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db' }, ConfigError],
  ] as const)('sorts a %s error %j', (client, err, type) => {
    const error = classifySqlError(err, client, where);
    expect(error).toBeInstanceOf(type);
    expect(error.message.startsWith(where)).toBe(true);
  });

  it('masks passwords and URL credentials in driver messages', () => {
    const err = { message: 'bad url mysql://braid:hunter22@db/shop, password hunter22' };
    expect(redact(err.message, ['hunter22'])).toBe('bad url mysql://***@db/shop, password ***');
    expect(classifySqlError(err, 'mysql', where, ['hunter22']).message).not.toContain('hunter22');
  });
});

describe('SQL cursors and values', () => {
  it('orders cursor values as the database does', () => {
    expect(compareCursorValues('number', '9', '10')).toBe(-1);
    expect(compareCursorValues('number', '90071992547409930', '90071992547409929')).toBe(1);
    expect(compareCursorValues('timestamp', '2026-03-29 01:30:00', '2026-03-29 01:30:00.5')).toBe(
      -1,
    );
    expect(
      compareCursorValues('timestamptz', '2026-03-29 01:30:00+00', '2026-03-29 01:30:00.5+00'),
    ).toBe(-1);
  });

  it('flattens values to text', () => {
    expect(valueText(null, 'string', 'UTC')).toBe('');
    expect(valueText(1, 'boolean', 'UTC')).toBe('true');
    expect(valueText(0, 'boolean', 'UTC')).toBe('false');
    expect(valueText(Buffer.from([1, 255]), 'string', 'UTC')).toBe('\\x01ff');
    expect(valueText(['a', 1], 'string', 'UTC')).toBe('["a",1]');
    expect(valueText('2026-03-29 01:30:00+00', 'timestamptz', 'Europe/Paris')).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    expect(valueText('0000-00-00 00:00:00', 'timestamp', 'UTC')).toBe('0000-00-00 00:00:00');
  });

  it('tells full-refresh cursors from others', () => {
    expect(
      fullRefreshRun('{"v":1,"mode":"full_refresh","run":"r1","after":4,"done":true}'),
    ).toEqual({
      runId: 'r1',
      complete: true,
    });
    expect(
      fullRefreshRun('{"v":1,"mode":"incremental","phase":"done","pos":null,"at":null}'),
    ).toBeNull();
  });
});

describe('SqlSourceConfig', () => {
  const base = {
    type: 'sql',
    client: 'postgres',
    connection: { env: 'CRM_URL' },
    table: 'customers',
    keyColumn: 'id',
    cursorColumn: 'updated_at',
  };

  it('applies defaults and maps to reader options', () => {
    const config = SqlSourceConfig.parse(base);
    const options = sqlTableOptions('crm', config, '/etc/braid');

    expect(config).toMatchObject({
      mode: 'incremental',
      lookBackSeconds: 300,
      timestamps: 'utc',
      pageSize: 1000,
    });
    expect(options).toMatchObject({
      recordKey: 'id',
      updatedAt: 'updated_at',
      zone: 'UTC',
      table: 'customers',
    });
    process.env.CRM_URL = 'postgres://u:p@h/db';
    expect(options.connection()).toBe('postgres://u:p@h/db');
    delete process.env.CRM_URL;
    expect(() => options.connection()).toThrow(
      'sources.crm.connection: environment variable CRM_URL is not set',
    );
  });

  it('resolves a relative SQLite file against the config folder and reads local zones', () => {
    const config = SqlSourceConfig.parse({
      ...base,
      client: 'sqlite',
      connection: 'data/crm.db',
      timestamps: 'local:Europe/Paris',
    });
    const options = sqlTableOptions('crm', config, '/etc/braid');
    expect(options.connection()).toBe('/etc/braid/data/crm.db');
    expect(options.zone).toBe('Europe/Paris');
  });

  it.each([
    [{ timestamps: 'local:Mars/Olympus' }, 'timestamps'],
    [{ view: 'v_customers' }, 'table'],
    [{ cursorColumn: undefined }, 'cursorColumn'],
    [{ password: 'x' }, ''],
    [{ pageSize: 0 }, 'pageSize'],
  ])('rejects %j', (change, pathText) => {
    const result = SqlSourceConfig.safeParse({ ...base, ...change });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain(pathText);
  });
});
