import { startTemporalDevServer } from '../../local/temporal-dev-server';
import { startTestPostgres } from './postgres';

/**
 * Starts the real servers the suite talks to, once per run: a Temporal dev server and a
 * PostgreSQL cluster. BRAID_TEST_SERVICES=none skips both (for running pure unit tests).
 * Existing servers can be given instead with BRAID_TEST_TEMPORAL_ADDRESS and BRAID_TEST_PG_URL.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.BRAID_TEST_SERVICES === 'none') return;
  const state: { stops: Array<() => Promise<void> | void> } = { stops: [] };
  (globalThis as Record<string, unknown>).__braidServices = state;

  if (!process.env.BRAID_TEST_TEMPORAL_ADDRESS) {
    const server = await startTemporalDevServer({
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.env.BRAID_TEST_TEMPORAL_ADDRESS = server.address;
    state.stops.push(() => server.stop());
  }

  if (!process.env.BRAID_TEST_PG_URL) {
    const pg = await startTestPostgres();
    if (pg) {
      process.env.BRAID_TEST_PG_URL = pg.url;
      state.stops.push(() => pg.stop());
    } else if (process.env.CI) {
      throw new Error(
        'CI needs PostgreSQL: install it (apt-get install postgresql) or set BRAID_TEST_PG_URL',
      );
    } else {
      process.stderr.write(
        'PostgreSQL not found: the PostgreSQL variants of the store tests are skipped.\n',
      );
    }
  }
}
