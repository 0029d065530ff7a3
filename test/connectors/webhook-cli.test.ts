import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { formatWebhookLog, webhookCommands, webhookSourcesOf } from '../../client/commands/webhook';
import { WebhookSourceConfig } from '../../config/sources/webhook';
import { ConfigError } from '../../connectors/errors';
import { signBody, startWebhookServer } from '../../connectors/webhook';
import { migrate, openDatabase } from '../../store/db';

const SECRET = 'whsec-cli-7c1d';
process.env.BRAID_TEST_WEBHOOK_CLI_HMAC = SECRET;

/** Runs `braid <args>` with the webhook command group and returns what it printed. */
async function braid(args: string[]): Promise<string> {
  const program = new Command('braid').exitOverride();
  webhookCommands(program);
  const out: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    write.mockRestore();
  }
  return out.join('');
}

describe('braid webhook log', () => {
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'braid-webhook-cli-'));
    configFile = path.join(dir, 'braid.yaml');
    writeFileSync(
      configFile,
      [
        'database:',
        '  client: sqlite',
        '  filename: data/braid.db',
        'sources: {}',
        'datasets: {}',
        'destinations: {}',
        'syncs: {}',
        '',
      ].join('\n'),
    );
    const db = openDatabase({ client: 'sqlite', filename: path.join(dir, 'data', 'braid.db') });
    await migrate(db);
    const crm = WebhookSourceConfig.parse({
      type: 'webhook',
      recordKey: 'email',
      auth: { hmac: { env: 'BRAID_TEST_WEBHOOK_CLI_HMAC' } },
    });
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const server = await startWebhookServer({
      db,
      config: { datasets: {} },
      sources: { crm },
      now: () => clock,
    });
    const post = async (body: string, signature = signBody(SECRET, body), key?: string) => {
      clock += 1000;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-braid-signature': signature,
      };
      if (key) headers['idempotency-key'] = key;
      await fetch(server.recordsUrl('crm'), { method: 'POST', body, headers });
    };
    await post('[{"email":"a@example.org"},{"plan":"pro"}]', undefined, 'k-1');
    await post('{"email":"b@example.org"}', signBody('wrong', '{}'));
    await post('{"email":"c@example.org"}');
    await server.stop();
    await db.destroy();
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the requests newest first, with rejected records under their request', async () => {
    const text = await braid(['webhook', 'log', 'crm', '-c', configFile]);

    expect(text.split('\n')).toEqual([
      'Webhook requests for crm, newest first:',
      '  #3 2026-03-01T10:00:03.000Z records 200 1 records, 1 accepted, 1 staged, 0 rejected; ' +
        'from 127.0.0.1',
      '  #2 2026-03-01T10:00:02.000Z records 401; from 127.0.0.1; invalid signature',
      '  #1 2026-03-01T10:00:01.000Z records 200 2 records, 1 accepted, 1 staged, 1 rejected; ' +
        'key k-1; from 127.0.0.1; 1 of 2 records rejected',
      '      record 1 [email] missing record key',
      '',
    ]);
  });

  it('prints JSON and honours --limit', async () => {
    const args = ['webhook', 'log', 'crm', '-c', configFile, '--limit', '2', '--json'];

    const entries = JSON.parse(await braid(args));

    expect(entries.map((e: { id: number; statusCode: number }) => [e.id, e.statusCode])).toEqual([
      [3, 200],
      [2, 401],
    ]);
  });

  it('refuses a source that is neither configured nor logged', async () => {
    await expect(braid(['webhook', 'log', 'nosuch', '-c', configFile])).rejects.toThrow(
      'unknown source "nosuch"',
    );
  });
});

describe('webhookSourcesOf', () => {
  it('picks the webhook sources and names the path of a bad one', () => {
    const hmac = { env: 'X' };

    const picked = webhookSourcesOf({
      shop: { type: 'sftp', host: 'h' },
      crm: { type: 'webhook', recordKey: 'email', auth: { hmac } },
    });

    expect(picked).toEqual({
      crm: { type: 'webhook', recordKey: 'email', auth: { hmac }, maxBodyBytes: 1024 * 1024 },
    });
    expect(() => webhookSourcesOf({ crm: { type: 'webhook', auth: { hmac } } })).toThrow(
      new ConfigError('sources.crm.recordKey: Invalid input: expected string, received undefined'),
    );
  });

  it('formats an empty log', () => {
    expect(formatWebhookLog('crm', [])).toEqual(['No webhook requests logged for crm.']);
  });
});
