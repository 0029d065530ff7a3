import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, resolveSync } from '../config/load';
import type { BraidConfig } from '../config/schema';
import { ConfigError, SyncError } from '../connectors/errors';
import { cronProblem } from '../domain/cron';
import { startBrazeEmulator } from '../emulators/braze';
import { startSftpServer } from '../emulators/sftp/server';
import { ensureTemporalCli, TemporalCliMissingError } from '../local/temporal-cli';
import { startTemporalDevServer } from '../local/temporal-dev-server';
import { untilStopped } from '../local/until-stopped';
import { migrate, openDatabase } from '../store/db';
import { createBraidWorker } from '../worker/create-worker';
import { installLogger } from '../worker/logger';
import { runDemo } from './demo';
import { runMultiSourceDemo } from './demo-multi';
import { printReport } from './report';
import { requestSyncRun, scheduleSync, syncStatus, waitForRun } from './sync-control';
import { COMMAND_GROUPS } from './commands';

const DEFAULT_CONFIG = process.env.BRAID_CONFIG ?? 'braid.yaml';
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const program = new Command('braid')
  .description('Unify customer records from your sources and keep Braze in sync, on Temporal.')
  .showHelpAfterError();

const withConfig = (command: Command) =>
  command.option('-c, --config <file>', 'config file (or set BRAID_CONFIG)', DEFAULT_CONFIG);

async function connect(config: BraidConfig) {
  const connection = await Connection.connect({ address: config.temporal.address });
  return { client: new Client({ connection, namespace: config.temporal.namespace }), connection };
}

program
  .command('demo')
  .description(
    'start Temporal, a Braze emulator and an SFTP drop locally, and run one sync of the sample file',
  )
  .option('--json', 'print the run report as JSON on the last line')
  .option('--exit', 'stop everything after the run even in a terminal')
  .option(
    '--sources <which>',
    'eshop: the SFTP drop alone; all: Salesforce and Zendesk emulators, a SQL table and the drop',
    demoSources,
    'eshop',
  )
  .action(async (opts: { json?: boolean; exit?: boolean; sources: 'eshop' | 'all' }) => {
    const run = opts.sources === 'all' ? runMultiSourceDemo : runDemo;
    process.exitCode = await run({
      json: !!opts.json,
      keepRunning: !opts.exit && !!process.stdout.isTTY,
    });
  });

function demoSources(value: string): 'eshop' | 'all' {
  if (value === 'eshop' || value === 'all') return value;
  throw new InvalidArgumentError('use eshop or all');
}

withConfig(program.command('worker'))
  .description('run a worker that executes syncs for the config')
  .action(async (opts: { config: string }) => {
    const { config } = loadConfig(opts.config);
    installLogger();
    const worker = await createBraidWorker(config);
    const stop = () => void worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    say(`Worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}.`);
    await worker.run();
  });

withConfig(program.command('run <sync>'))
  .description('run a sync now (queued behind a run already under way) and print its report')
  .option('--json', 'print the run report as JSON on the last line')
  .option('--no-wait', 'queue the run and return at once')
  .action(async (syncId: string, opts: { config: string; json?: boolean; wait: boolean }) => {
    const { config } = loadConfig(opts.config);
    resolveSync(config, syncId);
    const { client, connection } = await connect(config);
    try {
      const requestId = randomUUID().slice(0, 8);
      const workflowId = await requestSyncRun(client, config.temporal.taskQueue, {
        syncId,
        trigger: 'manual',
        requestId,
      });
      if (!opts.wait) {
        say(`Queued run ${workflowId}.`);
        return;
      }
      const hint = setTimeout(() => {
        process.stderr.write(
          `Still waiting for ${workflowId}: it may be queued or still running ` +
            '(braid status shows which); if nothing moves, check that a worker runs (braid worker).\n',
        );
      }, 15_000);
      const report = await waitForRun(client, workflowId).finally(() => clearTimeout(hint));
      printReport(report, {
        json: !!opts.json,
        uiUrl: config.temporal.uiUrl,
        namespace: config.temporal.namespace,
      });
      process.exitCode = report.status === 'succeeded' ? 0 : 1;
    } finally {
      await connection.close();
    }
  });

withConfig(program.command('schedule <sync>'))
  .description('create or update the Temporal Schedule that runs a sync on a cron expression')
  .option(
    '--cron <expression>',
    'cron expression, e.g. "*/15 * * * *" (default: the sync\'s schedule)',
  )
  .action(async (syncId: string, opts: { config: string; cron?: string }) => {
    const { config } = loadConfig(opts.config);
    const { sync } = resolveSync(config, syncId);
    const cron = opts.cron ?? sync.schedule;
    if (!cron) throw new InvalidArgumentError(`sync "${syncId}" has no schedule: pass --cron`);
    const problem = cronProblem(cron);
    if (problem) throw new ConfigError(`--cron "${cron}" is not a cron expression: ${problem}`);
    const { client, connection } = await connect(config);
    try {
      const result = await scheduleSync(client, config.temporal.taskQueue, syncId, cron);
      say(`${result.created ? 'Created' : 'Updated'} schedule ${result.scheduleId}: "${cron}".`);
    } finally {
      await connection.close();
    }
  });

withConfig(program.command('status <sync>'))
  .description('show the running, queued and recent runs of a sync')
  .option('--json', 'print JSON')
  .action(async (syncId: string, opts: { config: string; json?: boolean }) => {
    const { config } = loadConfig(opts.config);
    resolveSync(config, syncId);
    const { client, connection } = await connect(config);
    try {
      const status = await syncStatus(client, syncId);
      if (opts.json || !status.controller) {
        say(opts.json ? JSON.stringify(status) : `Sync ${syncId} has not run yet.`);
        return;
      }
      const { running, queued, recent } = status.controller;
      say(`Sync ${syncId}`);
      say(
        running
          ? `  running: ${running.workflowId} (${status.progress?.phase ?? 'starting'})`
          : '  running: none',
      );
      say(`  queued: ${queued.length}`);
      for (const run of recent) {
        const counts =
          run.status === 'failed'
            ? run.error
            : `${run.recordsRead} read, ${run.requestsSent} requests`;
        say(`  ${run.finishedAt ?? run.startedAt} ${run.status} ${run.workflowId}: ${counts}`);
      }
    } finally {
      await connection.close();
    }
  });

withConfig(program.command('migrate'))
  .description('create or update the tables in the customer database')
  .action(async (opts: { config: string }) => {
    const { config } = loadConfig(opts.config);
    const db = openDatabase(config.database);
    try {
      await migrate(db);
      say('Database is up to date.');
    } finally {
      await db.destroy();
    }
  });

withConfig(program.command('check'))
  .description('validate the config file')
  .action((opts: { config: string }) => {
    const { file, config } = loadConfig(opts.config);
    say(
      `${file} is valid: ${Object.keys(config.syncs).length} sync(s), ${Object.keys(config.sources).length} source(s).`,
    );
  });

program
  .command('emulator')
  .description(
    'run the local Braze emulator (POST /users/track, /users/merge, /users/delete, ' +
      '/users/export/ids; GET /_emulator/stats)',
  )
  .option('--port <port>', 'port', parsePort, 4010)
  .option('--api-key <key>', 'accepted REST API key (default: $BRAZE_API_KEY)')
  .option('--request-volume <n>', 'requests allowed per window', parsePositive, 3000)
  .option('--time-window-seconds <s>', 'rate-limit window', parsePositive, 3)
  .action(
    async (opts: {
      port: number;
      apiKey?: string;
      requestVolume: number;
      timeWindowSeconds: number;
    }) => {
      const apiKey = opts.apiKey ?? process.env.BRAZE_API_KEY;
      if (!apiKey) throw new InvalidArgumentError('give --api-key or set BRAZE_API_KEY');
      const emulator = await startBrazeEmulator({
        apiKeys: [apiKey],
        port: opts.port,
        requestVolume: opts.requestVolume,
        timeWindowMs: opts.timeWindowSeconds * 1000,
      });
      say(`Braze emulator listening on ${emulator.url}. Ctrl-C stops it.`);
      await untilStopped();
      await emulator.stop();
    },
  );

program
  .command('sftp-server')
  .description('serve a local folder over SFTP (password from $BRAID_SFTP_PASSWORD)')
  .requiredOption('--root <dir>', 'folder to serve as /')
  .option('--port <port>', 'port', parsePort, 2222)
  .option('--user <name>', 'user name', 'braid')
  .action(async (opts: { root: string; port: number; user: string }) => {
    const password = process.env.BRAID_SFTP_PASSWORD;
    if (!password) throw new InvalidArgumentError('set BRAID_SFTP_PASSWORD');
    const server = await startSftpServer({
      root: opts.root,
      username: opts.user,
      password,
      port: opts.port,
    });
    say(`SFTP server on ${server.host}:${server.port} serving ${opts.root}. Ctrl-C stops it.`);
    await untilStopped();
    await server.stop();
  });

const temporal = program.command('temporal').description('the local Temporal dev server');
temporal
  .command('path')
  .description('print the Temporal CLI path, building the pinned version with Go when missing')
  .action(() => say(ensureTemporalCli((line) => process.stderr.write(`${line}\n`))));
temporal
  .command('start')
  .description('run a Temporal dev server with the UI, keeping its state in .braid/temporal.db')
  .option('--port <port>', 'gRPC port', parsePort, 7233)
  .option('--ui-port <port>', 'UI port', parsePort, 8233)
  .action(async (opts: { port: number; uiPort: number }) => {
    const server = await startTemporalDevServer({
      port: opts.port,
      uiPort: opts.uiPort,
      dbFile: '.braid/temporal.db',
      logFile: '.braid/temporal.log',
      log: say,
    });
    say(`Temporal on ${server.address}, UI at ${server.uiUrl}. Ctrl-C stops it.`);
    await untilStopped();
    await server.stop();
  });

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('not a port');
  return port;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

// Command groups that live in their own modules (client/commands/*), one line each.
for (const register of COMMAND_GROUPS) register(program);

// `braid … | head` closes the pipe early: the reader has what it wanted, which is no failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof SyncError || error instanceof TemporalCliMissingError) {
    process.stderr.write(`braid: ${error.message}\n`);
  } else {
    process.stderr.write(
      `braid: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = 1;
});
