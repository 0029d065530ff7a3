import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../../local/listen';
import type { Knex } from 'knex';
import { resolveSecret } from '../../config/load';
import type { FieldType } from '../../config/schema';
import type { WebhookSourceConfig } from '../../config/sources/webhook';
import { logWebhookRequest } from '../../store/webhook';
import { ConfigError } from '../errors';
import type { WebhookCredential } from './auth';
import { handlePush } from './handle-push';
import { sendJson } from './http-io';
import { errorName } from './stage-request';
import type {
  Endpoint,
  OnStaged,
  ResolveMaster,
  ServedSource,
  WebhookContext,
  WebhookLogger,
} from './types';

export interface WebhookServerOptions {
  /** The customer database, migrated; records, history and the request log go there. */
  db: Knex;
  /** Datasets declare the field types each source's records are checked against. */
  config: DatasetsConfig;
  /** The webhook sources to serve, by source name. */
  sources: Record<string, WebhookSourceConfig>;
  onStaged?: OnStaged;
  /** Needed by `/upsert` only; without it that endpoint answers 501. */
  resolveMaster?: ResolveMaster;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, read it back from `port`. */
  port?: number;
  log?: WebhookLogger;
  /** Clock for `received_at_ms` and the replay window; default Date.now. */
  now?: () => number;
}

export interface WebhookServer {
  url: string;
  host: string;
  port: number;
  /** The URL a source's records are posted to. */
  recordsUrl(source: string): string;
  /** Stops accepting, lets requests in flight finish, and waits for `onStaged` calls. */
  stop(): Promise<void>;
}

/** The part of a BraidConfig the server reads. */
export interface DatasetsConfig {
  datasets: Record<string, { sources: string[]; fields: Record<string, FieldType> }>;
}

const SILENT: WebhookLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Starts the push endpoint: `POST <base>/records` (one object, an array, or `{records: [...]}`)
 * and `POST <base>/upsert` (one object, answered with its `master_id`) per source, where
 * `<base>` is `/sources/<name>` or the source's `path`; and `GET /healthz`. Secrets are resolved
 * once here, so a missing one fails the start with a ConfigError naming the source.
 */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const log = opts.log ?? SILENT;
  const routes = buildRoutes(opts.sources, opts.config);
  const pending = new Set<Promise<void>>();
  const ctx: WebhookContext = {
    db: opts.db,
    log,
    now: opts.now ?? Date.now,
    resolveMaster: opts.resolveMaster,
    notifyStaged(source, count) {
      if (!opts.onStaged) return;
      const call = (async () => opts.onStaged!(source, count))()
        .catch((error: unknown) => {
          log.error('Staged hook failed', { source, error: errorName(error) });
        })
        .finally(() => pending.delete(call));
      pending.add(call);
    },
  };

  const server = createServer((req, res) => {
    route(ctx, routes, req, res).catch(async (error: unknown) => {
      log.error('Webhook request failed', { error: errorName(error) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, host, opts.port);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('Webhook server started', { host, port, sourceCount: routes.size });

  let stopping: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    recordsUrl(source) {
      const served = [...routes].find(([, s]) => s.name === source);
      if (!served) throw new ConfigError(`Webhook source "${source}" is not served`);
      return `${url}${served[0]}/records`;
    },
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await Promise.all([...pending]);
      })();
      return stopping;
    },
  };
}

/** Base path → source; two sources on one path is a configuration error. */
function buildRoutes(
  sources: Record<string, WebhookSourceConfig>,
  config: DatasetsConfig,
): Map<string, ServedSource> {
  const routes = new Map<string, ServedSource>();
  for (const [name, source] of Object.entries(sources)) {
    const base = source.path ?? `/sources/${encodeURIComponent(name)}`;
    const taken = routes.get(base);
    if (taken) {
      throw new ConfigError(`sources.${name}.path: ${base} is already used by ${taken.name}`);
    }
    const credential = credentialOf(name, source);
    routes.set(base, { name, config: source, credential, fields: fieldTypesFor(config, name) });
  }
  return routes;
}

function credentialOf(name: string, source: WebhookSourceConfig): WebhookCredential {
  if ('hmac' in source.auth) {
    return { kind: 'hmac', secret: resolveSecret(source.auth.hmac, `sources.${name}.auth.hmac`) };
  }
  const token = resolveSecret(source.auth.bearer, `sources.${name}.auth.bearer`);
  return { kind: 'bearer', token };
}

/** Field types declared by every dataset this source feeds. */
function fieldTypesFor(config: DatasetsConfig, source: string): Record<string, FieldType> {
  const out: Record<string, FieldType> = {};
  for (const dataset of Object.values(config.datasets)) {
    if (dataset.sources.includes(source)) Object.assign(out, dataset.fields);
  }
  return out;
}

const ENDPOINTS: readonly Endpoint[] = ['records', 'upsert'];

async function route(
  ctx: WebhookContext,
  routes: Map<string, ServedSource>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://webhook').pathname;
  if (path === '/healthz') return healthz(ctx, req, res);

  const slash = path.lastIndexOf('/');
  const source = routes.get(path.slice(0, slash));
  const endpoint = ENDPOINTS.find((e) => e === path.slice(slash + 1));
  req.on('error', () => undefined);
  if (!source || !endpoint) {
    req.resume();
    return sendJson(res, 404, { error: 'not found' });
  }
  if (req.method !== 'POST') {
    req.resume();
    return sendJson(res, 405, { error: 'use POST' }, { allow: 'POST' });
  }
  try {
    await handlePush(ctx, source, endpoint, req, res);
  } catch (error) {
    // Logged by name only: driver errors can quote the SQL values, that is, the records.
    ctx.log.error('Webhook request failed', { source: source.name, error: errorName(error) });
    const start = {
      source: source.name,
      endpoint,
      receivedAtMs: ctx.now(),
      idempotencyKey: null,
      bodyHash: null,
      remoteAddress: req.socket.remoteAddress ?? null,
    };
    const summary = `internal error (${errorName(error)})`;
    await logWebhookRequest(ctx.db, start, { statusCode: 500, errorSummary: summary }).catch(
      () => 0,
    );
    sendJson(res, 500, { error: 'internal error' });
  }
}

/** 200 when the database answers, 503 when it does not. */
async function healthz(
  ctx: WebhookContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, { error: 'use GET' }, { allow: 'GET' });
  }
  try {
    await ctx.db.raw('select 1');
    sendJson(res, 200, { status: 'ok' });
  } catch (error) {
    ctx.log.error('Health check failed', { error: errorName(error) });
    sendJson(res, 503, { status: 'database unavailable' });
  }
}
