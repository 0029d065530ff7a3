import { Client, Connection } from '@temporalio/client';
import { resolveMasterId } from '../../identity/resolve-master';
import { realtimeTrigger } from '../realtime';
import { type Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { loadConfig } from '../../config/load';
import { WebhookSourceConfig } from '../../config/sources/webhook';
import { ConfigError } from '../../connectors/errors';
import { startWebhookServer, type WebhookLogger } from '../../connectors/webhook';
import { migrate, openDatabase } from '../../store/db';
import { listWebhookRequests, type WebhookRequestEntry } from '../../store/webhook';
import { untilStopped } from '../../local/until-stopped';
import type { CommandGroup } from './index';

const DEFAULT_CONFIG = process.env.BRAID_CONFIG ?? 'braid.yaml';
const DEFAULT_PORT = 4020;
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** `braid webhook log <source>` and `braid webhook serve`. */
export const webhookCommands: CommandGroup = (program: Command) => {
  const group = program.command('webhook').description('the webhook push source');

  group
    .command('log <source>')
    .description('show the request log of a webhook source, newest first')
    .option('-c, --config <file>', 'config file (or set BRAID_CONFIG)', DEFAULT_CONFIG)
    .option('--limit <n>', 'how many requests to show', parseLimit, 20)
    .option('--json', 'print JSON')
    .action(async (source: string, opts: { config: string; limit: number; json?: boolean }) => {
      const { file, config } = loadConfig(opts.config);
      const db = openDatabase(config.database);
      try {
        // A read command leaves the schema alone: before the first migration there is no log.
        const logged = await db.schema.hasTable('webhook_requests');
        const entries = logged ? await listWebhookRequests(db, source, opts.limit) : [];
        if (entries.length === 0 && !Object.hasOwn(config.sources, source)) {
          throw new ConfigError(`${file}: unknown source "${source}"`);
        }
        if (opts.json) say(JSON.stringify(entries));
        else for (const line of formatWebhookLog(source, entries)) say(line);
      } finally {
        await db.destroy();
      }
    });

  group
    .command('serve')
    .description('receive records for every webhook source of the config')
    .option('-c, --config <file>', 'config file (or set BRAID_CONFIG)', DEFAULT_CONFIG)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port', parsePort, DEFAULT_PORT)
    .action(async (opts: { config: string; host: string; port: number }) => {
      const { file, config } = loadConfig(opts.config);
      const sources = webhookSourcesOf(config.sources);
      const names = Object.keys(sources);
      if (names.length === 0) throw new ConfigError(`${file}: no source has type "webhook"`);
      const logger = pino({ base: { service: 'braid-webhook' } }, pino.destination(2));
      const log: WebhookLogger = {
        info: (message, fields) => logger.info(fields ?? {}, message),
        warn: (message, fields) => logger.warn(fields ?? {}, message),
        error: (message, fields) => logger.error(fields ?? {}, message),
      };
      const db = openDatabase(config.database);
      let connection: Connection | undefined;
      try {
        await migrate(db);
        // Real-time syncs need Temporal; without any, the server only stages.
        const realtime = Object.values(config.syncs).some((sync) => sync.realtime);
        connection = realtime
          ? await Connection.connect({ address: config.temporal.address })
          : undefined;
        const trigger = connection
          ? realtimeTrigger(
              config,
              new Client({ connection, namespace: config.temporal.namespace }),
              log,
            )
          : undefined;
        const server = await startWebhookServer({
          db,
          config,
          sources,
          host: opts.host,
          port: opts.port,
          log,
          onStaged: async (source, count) => {
            logger.info({ source, recordCount: count }, 'Records staged');
            await trigger?.(source, count);
          },
          resolveMaster: (source, id) => resolveMasterId(db, config, source, id, Date.now()),
        });
        say(`Webhook server on ${server.url} for ${names.join(', ')}. Ctrl-C stops it.`);
        await untilStopped();
        await server.stop();
      } finally {
        // A start that fails (a secret not set) must end the process, not leave it hanging.
        await connection?.close();
        await db.destroy();
      }
    });
};

/** The webhook sources among a config's sources, validated as such. */
export function webhookSourcesOf(
  sources: Record<string, unknown>,
): Record<string, WebhookSourceConfig> {
  const out: Record<string, WebhookSourceConfig> = {};
  for (const [name, source] of Object.entries(sources)) {
    if ((source as { type?: unknown }).type !== 'webhook') continue;
    const parsed = WebhookSourceConfig.safeParse(source);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = `sources.${name}.${issue?.path.join('.') ?? ''}`;
      throw new ConfigError(`${where}: ${issue?.message ?? 'invalid'}`);
    }
    out[name] = parsed.data;
  }
  return out;
}

/** Text lines for the request log: one per request, then one per rejected record. */
export function formatWebhookLog(source: string, entries: WebhookRequestEntry[]): string[] {
  if (entries.length === 0) return [`No webhook requests logged for ${source}.`];
  const lines = [`Webhook requests for ${source}, newest first:`];
  for (const e of entries) {
    const counts =
      e.recordCount > 0
        ? ` ${e.recordCount} records, ${e.accepted} accepted, ${e.staged} staged,` +
          ` ${e.rejected} rejected`
        : '';
    const parts = [
      `#${e.id} ${new Date(e.receivedAtMs).toISOString()} ${e.endpoint} ${e.statusCode}${counts}`,
      e.idempotencyKey === null ? undefined : `key ${e.idempotencyKey}`,
      e.remoteAddress === null ? undefined : `from ${e.remoteAddress}`,
      e.errorSummary ?? undefined,
    ];
    lines.push(`  ${parts.filter((p) => p !== undefined).join('; ')}`);
    for (const reject of e.rejects) {
      const field = reject.field ? ` [${reject.field}]` : '';
      lines.push(`      record ${reject.index}${field} ${reject.reason}`);
    }
  }
  return lines;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('not a port');
  }
  return port;
}
