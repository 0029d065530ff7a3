import pino from 'pino';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  type LogLevel,
} from '@temporalio/worker';

let installed = false;

/**
 * Routes the SDK's logs (worker, workflow and activity loggers) through pino as JSON lines.
 * BRAID_LOG_LEVEL sets the level (default info). Installed once per process.
 */
export function installLogger(destination: NodeJS.WritableStream = process.stderr): void {
  if (installed) return;
  installed = true;
  const level = (process.env.BRAID_LOG_LEVEL ?? 'info').toLowerCase();
  const logger = pino(
    { level, base: { service: 'braid-worker' } },
    destination as pino.DestinationStream,
  );
  const sdkLevel = level.toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, (entry) => {
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      logger[method]({ ...entry.meta }, entry.message);
    }),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
}
