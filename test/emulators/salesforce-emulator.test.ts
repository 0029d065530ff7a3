import path from 'node:path';
import { Connection } from 'jsforce';
import { startSalesforceEmulator, type SalesforceEmulator } from '../../emulators/salesforce';

const ACCOUNTS_CSV = path.join(__dirname, '../../examples/data/salesforce/Account_bulk1_test.csv');
const USER = { username: 'ops@example.org', password: 'pw-123456', securityToken: 'TOKEN99' };
const BASE = Date.parse('2026-03-01T08:00:00.000Z');

function contacts(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    Id: `C${String(i + 1).padStart(5, '0')}`,
    LastName: `Person ${i + 1}`,
    Email: `p${i + 1}@example.org`,
    SystemModstamp: new Date(BASE + i * 1000),
  }));
}

async function login(emu: SalesforceEmulator): Promise<Connection> {
  const conn = new Connection({ loginUrl: emu.url, version: '59.0' });
  await conn.loginBySoap(USER.username, USER.password + USER.securityToken);
  return conn;
}

async function getJson(emu: SalesforceEmulator, conn: Connection, rest: string) {
  const response = await fetch(`${emu.url}/services/data/v59.0/${rest}`, {
    headers: { authorization: `Bearer ${conn.accessToken}` },
  });
  const body: any = await response.json();
  return { status: response.status, body, headers: response.headers };
}

describe('Salesforce emulator', () => {
  let emu: SalesforceEmulator;
  let conn: Connection;

  beforeAll(async () => {
    emu = await startSalesforceEmulator({
      objects: {
        Contact: {
          fields: [
            { name: 'LastName', type: 'string' },
            { name: 'Email', type: 'email' },
          ],
          records: contacts(5),
        },
        Account: { csvFile: ACCOUNTS_CSV },
      },
      users: [USER],
      pageSize: 2,
      bulkResultPageSize: 40,
    });
    conn = await login(emu);
  });
  afterAll(() => emu.stop());

  test('listens on loopback and logs jsforce in through SOAP with the org instance URL', () => {
    expect(emu.url).toBe(`http://127.0.0.1:${emu.port}`);
    expect(conn.instanceUrl).toBe(emu.url);
    expect(conn.accessToken).toMatch(/^00D000000000001AAA!AQ/);
  });

  test('answers a wrong password with the INVALID_LOGIN fault', async () => {
    const other = new Connection({ loginUrl: emu.url, version: '59.0' });

    await expect(other.loginBySoap(USER.username, USER.password)).rejects.toThrow(
      'INVALID_LOGIN: Invalid username, password, security token; or user locked out.',
    );
  });

  test('pages a query with nextRecordsUrl, done and totalSize as Salesforce shapes them', async () => {
    const soql = 'SELECT Id, LastName FROM Contact ORDER BY SystemModstamp, Id';
    const first = await getJson(emu, conn, `query?q=${encodeURIComponent(soql)}`);
    const second = await getJson(
      emu,
      conn,
      first.body.nextRecordsUrl.replace('/services/data/v59.0/', ''),
    );

    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      totalSize: 5,
      done: false,
      nextRecordsUrl: expect.stringMatching(/^\/services\/data\/v59\.0\/query\/01g\w+-2$/),
      records: [
        {
          attributes: { type: 'Contact', url: '/services/data/v59.0/sobjects/Contact/C00001' },
          Id: 'C00001',
          LastName: 'Person 1',
        },
        expect.objectContaining({ Id: 'C00002' }),
      ],
    });
    expect(second.body.records.map((r: { Id: string }) => r.Id)).toEqual(['C00003', 'C00004']);
  });

  test('filters on an unquoted datetime literal, inclusive at the boundary', async () => {
    const soql =
      'SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp >= 2026-03-01T09:00:03+01:00';
    const answer = await getJson(emu, conn, `query?q=${encodeURIComponent(soql)}`);

    expect(answer.body.totalSize).toBe(2);
    expect(answer.body.records[0]).toMatchObject({
      Id: 'C00004',
      SystemModstamp: '2026-03-01T08:00:03.000+0000',
    });
  });

  test.each([
    [
      'a quoted datetime',
      "SystemModstamp >= '2026-03-01T08:00:00.000Z'",
      /must be of type datetime and should not be enclosed in quotes/,
    ],
    ['a JS Date string', `SystemModstamp >= ${new Date(BASE).toString()}`, /unexpected token/],
    [
      'an offset whose + became a space',
      'SystemModstamp >= 2026-03-01T09:00:00 01:00',
      /ERROR at Row:1/,
    ],
  ])('refuses %s with MALFORMED_QUERY 400', async (_, condition, message) => {
    const soql = `SELECT Id FROM Contact WHERE ${condition}`;
    const answer = await getJson(emu, conn, `query?q=${encodeURIComponent(soql)}`);

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual([
      { message: expect.stringMatching(message), errorCode: 'MALFORMED_QUERY' },
    ]);
  });

  test('refuses an unknown field with INVALID_FIELD', async () => {
    const answer = await getJson(
      emu,
      conn,
      `query?q=${encodeURIComponent('SELECT Id, Nope FROM Contact')}`,
    );

    expect(answer.status).toBe(400);
    expect(answer.body[0]).toMatchObject({ errorCode: 'INVALID_FIELD' });
    expect(answer.body[0].message).toMatch(/^No such column 'Nope' on entity 'Contact'/);
  });

  test('loads Accounts from the Bulk CSV with typed fields and multi-line addresses', async () => {
    const soql =
      "SELECT Name, BillingStreet, AnnualRevenue, NumberOfEmployees FROM Account WHERE Name = 'Bulk Account from CSV - #1'";
    const count = await getJson(
      emu,
      conn,
      `query?q=${encodeURIComponent('SELECT COUNT() FROM Account')}`,
    );
    const one = await getJson(emu, conn, `query?q=${encodeURIComponent(soql)}`);

    expect(count.body).toEqual({ totalSize: 100, done: true, records: [] });
    expect(one.body.records[0]).toMatchObject({
      Name: 'Bulk Account from CSV - #1',
      BillingStreet: '345 Shoreline Park\nMountain View, CA 94043\nUSA',
      AnnualRevenue: 30000000,
      NumberOfEmployees: 265,
    });
  });

  test('describes an object with Salesforce field types', async () => {
    const described = await conn.describe('Account');
    const byName = new Map(described.fields.map((f) => [f.name, f]));

    expect(described.name).toBe('Account');
    expect(byName.get('Phone')).toMatchObject({ type: 'phone', nillable: true });
    expect(byName.get('SystemModstamp')).toMatchObject({ type: 'datetime', nillable: false });
    expect(byName.get('AnnualRevenue')).toMatchObject({ type: 'currency' });
  });

  test('runs a Bulk API 2.0 query job whose results page by Sforce-Locator', async () => {
    const created = await conn.requestPost('/jobs/query', {
      operation: 'query',
      query: 'SELECT Id, Name FROM Account',
    });
    const id = (created as { id: string; state: string }).id;
    const first = await getJson(emu, conn, `jobs/query/${id}`);
    const second = await getJson(emu, conn, `jobs/query/${id}`);
    const auth = { authorization: `Bearer ${conn.accessToken}` };
    const pages: string[] = [];
    let locator = '';
    do {
      const response = await fetch(
        `${emu.url}/services/data/v59.0/jobs/query/${id}/results${locator ? `?locator=${locator}` : ''}`,
        { headers: auth },
      );
      pages.push(await response.text());
      locator = response.headers.get('sforce-locator') ?? 'null';
    } while (locator !== 'null');

    expect(created).toMatchObject({
      operation: 'query',
      object: 'Account',
      state: 'UploadComplete',
    });
    expect(first.body.state).toBe('InProgress');
    expect(second.body).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 100 });
    expect(pages).toHaveLength(3);
    expect(pages[0]!.split('\n')[0]).toBe('"Id","Name"');
    expect(pages.map((p) => p.trim().split('\n').length - 1)).toEqual([40, 40, 20]);
  });

  test('answers getDeleted with the records deleted in whole minutes of the window', async () => {
    let clock = Date.parse('2026-03-10T10:00:30.000Z');
    const local = await startSalesforceEmulator({
      objects: { Contact: { records: contacts(3) } },
      users: [USER],
      now: () => clock,
    });
    const localConn = await login(local);
    local.delete('Contact', 'C00002');
    clock += 60_000;

    const result = await localConn
      .sobject('Contact')
      .deleted('2026-03-10T10:00:00Z', '2026-03-10T10:05:00Z');
    await local.stop();

    expect(result).toEqual({
      deletedRecords: [{ id: 'C00002', deletedDate: '2026-03-10T10:00:30.000+0000' }],
      earliestDateAvailable: '2026-02-08T10:01:00.000+0000',
      latestDateCovered: '2026-03-10T10:01:00.000+0000',
    });
    expect(local.ids('Contact')).toEqual(['C00001', 'C00003']);
  });

  test('fails requests on demand, expires sessions and counts requests per path', async () => {
    emu.clearLog();
    emu.failNext(1, 'REQUEST_LIMIT_EXCEEDED');
    const limited = await getJson(emu, conn, 'sobjects/Contact/describe');
    emu.failNext(
      1,
      { status: 503, errorCode: 'SERVER_UNAVAILABLE', message: 'down' },
      { pathIncludes: '/query' },
    );
    const described = await getJson(emu, conn, 'sobjects/Contact/describe');
    const unavailable = await getJson(emu, conn, 'query?q=SELECT+Id+FROM+Contact');
    emu.expireSessions();
    const expired = await getJson(emu, conn, 'sobjects/Contact/describe');

    expect(limited.status).toBe(403);
    expect(limited.body).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    expect(described.status).toBe(200);
    expect(unavailable.status).toBe(503);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    expect(emu.requestCount('/sobjects/Contact/describe')).toBe(3);
    expect(emu.requestCount('/query')).toBe(1);
    conn = await login(emu);
  });
});
