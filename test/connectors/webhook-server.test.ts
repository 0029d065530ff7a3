import type { Knex } from 'knex';
import { WebhookSourceConfig } from '../../config/sources/webhook';
import { ConfigError } from '../../connectors/errors';
import { signBody, startWebhookServer, type WebhookServer } from '../../connectors/webhook';
import { migrate } from '../../store/db';
import { listRecordHistory, listWebhookRequests } from '../../store/webhook';
import { BACKENDS, PG_URL } from '../support/databases';

const SECRET = 'whsec-4f1b9c-never-in-logs';
const TOKEN = 'tok-82d3e7-never-in-logs';
process.env.BRAID_TEST_WEBHOOK_HMAC = SECRET;
process.env.BRAID_TEST_WEBHOOK_TOKEN = TOKEN;
const MIB = 1024 * 1024;

/** crm: signed, ordered by occurred_at, deduplicated by event id. app: bearer, custom path. */
const SOURCES = {
  crm: WebhookSourceConfig.parse({
    type: 'webhook',
    recordKey: 'email',
    updatedAt: 'occurred_at',
    eventId: 'event_id',
    auth: { hmac: { env: 'BRAID_TEST_WEBHOOK_HMAC' } },
  }),
  app: WebhookSourceConfig.parse({
    type: 'webhook',
    recordKey: 'id',
    auth: { bearer: { env: 'BRAID_TEST_WEBHOOK_TOKEN' } },
    path: '/hooks/app',
  }),
};
const DATASETS = { people: { sources: ['crm'], fields: { email: 'email' as const } } };

if (!PG_URL) {
  describe.skip('webhook server on PostgreSQL (BRAID_TEST_PG_URL is not set)', () => {
    it('runs every webhook test against PostgreSQL', () => undefined);
  });
}

type Answer = { status: number; text: string; json: any; headers: Headers };

async function send(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  return { status: res.status, text, json, headers: res.headers };
}

/** POSTs to the crm source with a valid signature, plus any extra headers. */
function signed(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return send(url, body, {
    'content-type': 'application/json',
    'x-braid-signature': signBody(SECRET, body),
    ...headers,
  });
}

describe.each(BACKENDS)('webhook server on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;
  let server: WebhookServer;
  let crm: string;
  let staged: Array<[string, number]> = [];
  let logLines: string[] = [];

  beforeAll(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
    server = await startWebhookServer({
      db,
      config: { datasets: DATASETS },
      sources: SOURCES,
      onStaged: (source, count) => void staged.push([source, count]),
      resolveMaster: async (source, id) => `M-${source}-${id}`,
      log: {
        info: (message, fields) => logLines.push(JSON.stringify({ message, ...fields })),
        warn: (message, fields) => logLines.push(JSON.stringify({ message, ...fields })),
        error: (message, fields) => logLines.push(JSON.stringify({ message, ...fields })),
      },
    });
    crm = server.recordsUrl('crm');
  });

  afterAll(async () => {
    await server.stop();
    await close();
  });

  beforeEach(async () => {
    for (const table of ['webhook_requests', 'source_record_history', 'source_records']) {
      await db(table).delete();
    }
    staged = [];
    logLines = [];
  });

  const stored = async (source: string) =>
    (await db('source_records').where({ source }).orderBy('record_key')).map((row) => ({
      key: row.record_key,
      values: JSON.parse(row.payload),
      updatedAtMs: row.source_updated_at_ms === null ? null : Number(row.source_updated_at_ms),
    }));

  describe('ordering (BL-17)', () => {
    const e2 = JSON.stringify({
      event_id: 'e2',
      email: 'lucie.bernard@example.com',
      plan: 'premium',
      occurred_at: '2026-03-01T10:05:00Z',
    });
    const e1 = JSON.stringify({
      event_id: 'e1',
      email: 'lucie.bernard@example.com',
      plan: 'free',
      occurred_at: '2026-03-01T10:00:00Z',
    });

    it('keeps the newer version, sends the older to history, ignores the redelivery', async () => {
      const first = await signed(crm, e2);
      const second = await signed(crm, e1);
      const third = await signed(crm, e2);

      expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
      expect(first.json).toMatchObject({ accepted: 1, staged: 1, stale: 0, duplicates: 0 });
      expect(second.json).toMatchObject({ accepted: 1, staged: 0, stale: 1, duplicates: 0 });
      expect(third.json).toMatchObject({ accepted: 1, staged: 0, stale: 0, duplicates: 1 });
      expect(await stored('crm')).toEqual([
        {
          key: 'lucie.bernard@example.com',
          values: {
            email: 'lucie.bernard@example.com',
            event_id: 'e2',
            occurred_at: '2026-03-01T10:05:00Z',
            plan: 'premium',
          },
          updatedAtMs: Date.parse('2026-03-01T10:05:00Z'),
        },
      ]);
      const history = await listRecordHistory(db, 'crm', 'lucie.bernard@example.com');
      expect(history.map((h) => [h.eventId, h.values.plan, h.outcome])).toEqual([
        ['e2', 'premium', 'staged'],
        ['e1', 'free', 'stale'],
      ]);
      expect(staged).toEqual([['crm', 1]]);
    });

    it('stages an equal occurred_at; a redelivery without event ids is a no-op', async () => {
      const v1 = { id: '7', plan: 'free', occurred_at: '2026-03-01T10:00:00Z' };
      const v2 = { id: '7', occurred_at: '2026-03-01T10:00:00Z', plan: 'trial' };
      const post = (record: object) =>
        send(`${server.url}/hooks/app/records`, JSON.stringify(record), {
          'content-type': 'application/json',
          authorization: `Bearer ${TOKEN}`,
        });

      const answers = [await post(v1), await post(v2), await post({ ...v2 }), await post(v1)];

      const summary = answers.map(({ status, json }) => [
        status,
        json.staged,
        json.stale,
        json.duplicates,
      ]);
      expect(summary).toEqual([
        [200, 1, 0, 0],
        [200, 1, 0, 0],
        [200, 0, 0, 1],
        [200, 0, 0, 1],
      ]);
      expect((await stored('app'))[0]!.values.plan).toBe('trial');
      expect(staged).toEqual([
        ['app', 1],
        ['app', 1],
      ]);
    });
  });

  describe('authentication', () => {
    const body = JSON.stringify({ event_id: 'a1', email: 'jonas@example.de' });

    it('refuses a bad signature with 401 and logs the request without its body', async () => {
      const forged = signBody('some-other-secret', body);

      const answer = await send(crm, body, {
        'content-type': 'application/json',
        'x-braid-signature': forged,
      });

      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: 'invalid signature' });
      expect(await stored('crm')).toEqual([]);
      const [entry] = await listWebhookRequests(db, 'crm', 10);
      expect(entry).toMatchObject({
        statusCode: 401,
        errorSummary: 'invalid signature',
        bodyHash: null,
        recordCount: 0,
        remoteAddress: expect.stringMatching(/127\.0\.0\.1$/),
      });
      const rows = JSON.stringify(await db('webhook_requests').select());
      const everything = `${rows}\n${logLines.join('\n')}`;
      for (const secret of [SECRET, forged, forged.slice(7), 'jonas@example.de']) {
        expect(everything).not.toContain(secret);
      }
    });

    it('refuses a missing or malformed signature', async () => {
      const missing = await send(crm, body, { 'content-type': 'application/json' });
      const malformed = await send(crm, body, {
        'content-type': 'application/json',
        'x-braid-signature': 'sha1=abc',
      });

      expect([missing.status, missing.json.error]).toEqual([401, 'missing signature']);
      expect([malformed.status, malformed.json.error]).toEqual([401, 'malformed signature']);
    });

    it('accepts a fresh signed timestamp and refuses one older than 5 minutes', async () => {
      const now = Math.floor(Date.now() / 1000);
      const withTime = (t: number, signature = signBody(SECRET, body, t)) =>
        send(crm, body, {
          'content-type': 'application/json',
          'x-braid-timestamp': String(t),
          'x-braid-signature': signature,
        });

      const fresh = await withTime(now - 10);
      const replayed = await withTime(now - 301);
      const unsignedTime = await withTime(now, signBody(SECRET, body));

      expect(fresh.status).toBe(200);
      expect(replayed.status).toBe(401);
      expect(replayed.json.error).toMatch(/5 minute/);
      expect(unsignedTime.status).toBe(401);
      const log = await listWebhookRequests(db, 'crm', 10);
      expect(log.map((e) => e.statusCode)).toEqual([401, 401, 200]);
    });

    it('checks bearer tokens and asks for one when it is missing', async () => {
      const url = `${server.url}/hooks/app/records`;
      const record = JSON.stringify({ id: '1' });

      const none = await send(url, record, { 'content-type': 'application/json' });
      const wrong = await send(url, record, {
        'content-type': 'application/json',
        authorization: 'Bearer nope',
      });
      const right = await send(url, record, {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
      });

      expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
      expect([wrong.status, wrong.json.error]).toEqual([401, 'invalid bearer token']);
      expect(right.status).toBe(200);
      expect(logLines.join('\n')).not.toContain(TOKEN);
    });
  });

  describe('request checks', () => {
    it('answers 413 with a JSON error one byte past 1 MiB, and accepts exactly 1 MiB', async () => {
      const record = JSON.stringify({ event_id: 'big', email: 'big@example.org' });
      const exact = record + ' '.repeat(MIB - record.length);

      const atLimit = await signed(crm, exact);
      const over = await signed(crm, exact + ' ');

      expect(atLimit.status).toBe(200);
      expect(over.status).toBe(413);
      const error = `body of ${MIB + 1} bytes exceeds the limit of ${MIB} bytes`;
      expect(over.json).toEqual({ error });
      expect((await listWebhookRequests(db, 'crm', 1))[0]).toMatchObject({ statusCode: 413 });
    });

    it('answers 415 to a body that is not JSON', async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };

      const answer = await send(crm, 'email=x', form);

      expect(answer.status).toBe(415);
      expect(answer.json.error).toMatch(/application\/json/);
    });

    it('answers 400 naming the position of a JSON syntax error, not quoting the body', async () => {
      const body = '[{"event_id":"j1","email":"lea@example.org",}]';

      const answer = await signed(crm, body);

      expect(answer.status).toBe(400);
      expect(answer.json.error).toBe('invalid JSON at position 44 (line 1, column 45)');
      expect((await listWebhookRequests(db, 'crm', 1))[0]!.errorSummary).toBe(answer.json.error);
    });

    it('answers 400 to a body that is not UTF-8 and stages nothing', async () => {
      const body = Buffer.concat([
        Buffer.from('{"event_id":"u1","email":"jose@example.org","name":"Jos'),
        Buffer.from([0xe9]),
        Buffer.from('"}'),
      ]);

      const answer = await signed(crm, body);

      expect(answer.status).toBe(400);
      expect(answer.json.error).toBe('body is not valid UTF-8');
      expect(await db('source_records').select('id')).toEqual([]);
    });

    it('answers 400 to a body nested too deeply to flatten', async () => {
      const body = `{"event_id":"d1","email":"deep@example.org","a":${'{"b":'.repeat(5000)}1${'}'.repeat(5000)}}`;

      const answer = await signed(crm, body);

      expect(answer.status).toBe(400);
      expect(answer.json.error).toBe('JSON nested deeper than 32 levels');
    });

    it('stages the good records and lists the rejected by index, field and reason', async () => {
      const body = JSON.stringify({
        records: [
          { event_id: 'r0', email: 'Anna.Schmidt@Example.org', plan: 'pro' },
          { event_id: 'r1', email: 'not-an-email' },
          { event_id: 'r2', plan: 'free' },
          { event_id: 'r3', email: 'tim@example.org', occurred_at: 'yesterday' },
          'just text',
          { email: 'noevent@example.org' },
        ],
      });

      const answer = await signed(crm, body);

      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ records: 6, accepted: 1, staged: 1, rejected: 5 });
      const rejects = [
        { index: 1, field: 'email', reason: 'malformed email' },
        { index: 2, field: 'email', reason: 'missing record key' },
        { index: 3, field: 'occurred_at', reason: 'not an ISO 8601 timestamp' },
        { index: 4, reason: 'not a JSON object' },
        { index: 5, field: 'event_id', reason: 'missing event id' },
      ];
      expect(answer.json.rejects).toEqual(rejects);
      expect((await stored('crm')).map((r) => r.key)).toEqual(['anna.schmidt@example.org']);
      expect((await listWebhookRequests(db, 'crm', 1))[0]).toMatchObject({
        statusCode: 200,
        recordCount: 6,
        accepted: 1,
        rejected: 5,
        rejects,
        errorSummary: '5 of 6 records rejected',
      });
    });

    it('answers 422 when no record is valid, and 400 when there are none', async () => {
      const invalid = await signed(crm, JSON.stringify([{ event_id: 'x', email: 'bad' }]));
      const empty = await signed(crm, '[]');

      expect([invalid.status, invalid.json.accepted, invalid.json.rejected]).toEqual([422, 0, 1]);
      expect([empty.status, empty.json.error]).toEqual([400, 'the body holds no records']);
      expect(staged).toEqual([]);
    });

    it('answers /healthz, 404 for unknown paths and 405 for other methods', async () => {
      const health = await fetch(`${server.url}/healthz`);
      const unknown = await signed(`${server.url}/sources/nobody/records`, '{}');
      const get = await fetch(crm);

      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      expect(unknown.status).toBe(404);
      expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    });
  });

  describe('batches and idempotency', () => {
    it('stages a batch of 500 records in one transaction', async () => {
      const records = Array.from({ length: 500 }, (_, i) => ({
        event_id: `b${i}`,
        email: `person${i}@example.org`,
        occurred_at: '2026-03-01T09:00:00Z',
      }));
      const transactions = new Set<string>();
      const onQuery = (query: { sql: string; __knexTxId?: string }) => {
        if (!/insert into .source_records./i.test(query.sql)) return;
        transactions.add(query.__knexTxId ?? 'none');
      };
      db.on('query', onQuery);

      const answer = await signed(crm, JSON.stringify(records)).finally(() => {
        db.off('query', onQuery);
      });

      expect(answer.json).toMatchObject({ records: 500, accepted: 500, staged: 500, rejected: 0 });
      expect(transactions.size).toBe(1);
      expect([...transactions][0]).not.toBe('none');
      const [count] = await db('source_records').where({ source: 'crm' }).count({ n: '*' });
      expect(Number(count!.n)).toBe(500);
      expect(staged).toEqual([['crm', 500]]);
    });

    it('replays the first answer to a repeated Idempotency-Key, stages nothing twice', async () => {
      const body = JSON.stringify([
        { event_id: 'i1', email: 'ines@example.org', plan: 'pro' },
        { event_id: 'i2', email: 'bad' },
      ]);

      const first = await signed(crm, body, { 'idempotency-key': 'order-991' });
      const repeat = await signed(crm, body, { 'idempotency-key': 'order-991' });
      const reused = await signed(crm, '{"event_id":"i3","email":"x@example.org"}', {
        'idempotency-key': 'order-991',
      });

      expect(first.status).toBe(200);
      expect([repeat.status, repeat.text]).toEqual([200, first.text]);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
      expect(reused.status).toBe(422);
      expect(await listRecordHistory(db, 'crm')).toHaveLength(1);
      expect(staged).toEqual([['crm', 1]]);
      const log = await listWebhookRequests(db, 'crm', 10);
      expect(log.map((e) => [e.statusCode, e.idempotencyKey, e.replayOf])).toEqual([
        [422, 'order-991', null],
        [200, 'order-991', first.json.request_id],
        [200, 'order-991', null],
      ]);
    });

    it('lets only one of two concurrent copies of a keyed request stage', async () => {
      const body = JSON.stringify({ event_id: 'c1', email: 'chloe@example.org' });

      const answers = await Promise.all([
        signed(crm, body, { 'idempotency-key': 'twin' }),
        signed(crm, body, { 'idempotency-key': 'twin' }),
      ]);

      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers[0]!.text).toBe(answers[1]!.text);
      expect(await listRecordHistory(db, 'crm')).toHaveLength(1);
      expect(staged).toEqual([['crm', 1]]);
    });
  });

  describe('upsert', () => {
    const upsert = (body: string, headers: Record<string, string> = {}) =>
      signed(crm.replace(/records$/, 'upsert'), body, headers);

    it('stages one record and answers with its master_id', async () => {
      const answer = await upsert(JSON.stringify({ event_id: 'u1', email: 'ute@example.org' }));

      const [row] = await db('source_records').where({ source: 'crm' });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        request_id: expect.any(Number),
        record_id: Number(row.id),
        outcome: 'staged',
        master_id: `M-crm-${row.id}`,
      });
      expect(staged).toEqual([['crm', 1]]);
    });

    it('answers a stale version with the stored record and replays keyed requests', async () => {
      const ugo = { email: 'ugo@example.org' };
      await upsert(JSON.stringify({ ...ugo, event_id: 'u2', occurred_at: '2026-03-02' }));
      const older = JSON.stringify({ ...ugo, event_id: 'u1', occurred_at: '2026-03-01' });

      const first = await upsert(older, { 'idempotency-key': 'u-older' });
      const again = await upsert(older, { 'idempotency-key': 'u-older' });

      const [row] = await db('source_records').where({ source: 'crm' });
      expect(first.json).toMatchObject({ outcome: 'stale', master_id: `M-crm-${row.id}` });
      expect(again.text).toBe(first.text);
    });

    it('refuses a batch, a rejected record, and upserts without a resolver', async () => {
      const config = { datasets: DATASETS };
      const bare = await startWebhookServer({ db, config, sources: SOURCES });
      try {
        const batch = await upsert('[{"event_id":"u3","email":"a@example.org"}]');
        const invalid = await upsert('{"event_id":"u4","email":"bad"}');
        const unwired = await signed(bare.recordsUrl('crm').replace(/records$/, 'upsert'), '{}');

        const single = 'upsert takes exactly one JSON object';
        expect([batch.status, batch.json.error]).toEqual([400, single]);
        expect([invalid.status, invalid.json.rejects]).toEqual([
          422,
          [{ index: 0, field: 'email', reason: 'malformed email' }],
        ]);
        expect(unwired.status).toBe(501);
      } finally {
        await bare.stop();
      }
    });
  });

  it('fails to start with a ConfigError naming the source when its secret is missing', async () => {
    const sources = {
      shop: WebhookSourceConfig.parse({
        type: 'webhook',
        recordKey: 'id',
        auth: { hmac: { env: 'BRAID_TEST_WEBHOOK_UNSET' } },
      }),
    };

    const start = startWebhookServer({ db, config: { datasets: {} }, sources });

    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(
      'sources.shop.auth.hmac: environment variable BRAID_TEST_WEBHOOK_UNSET is not set',
    );
  });
});
