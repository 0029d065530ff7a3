import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Knex } from 'knex';
import { createActivities } from '../activities';
import type { BraidConfig } from '../config/schema';
import { migrate, openDatabase } from '../store/db';

export interface BraidWorker {
  worker: Worker;
  db: Knex;
  /** Runs until shutdown() is called or the process is signalled. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Builds a worker for the config: opens and migrates the customer database, connects to
 * Temporal, and registers the workflows and activities on the config's task queue.
 */
export async function createBraidWorker(
  config: BraidConfig,
  opts: { db?: Knex; workflowBundle?: { code: string } } = {},
): Promise<BraidWorker> {
  const db = opts.db ?? openDatabase(config.database);
  await migrate(db);
  const { address, namespace, taskQueue } = config.temporal;
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace });

  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({ config, db, temporal: { client, taskQueue } }),
    // Delivery windows are sequential per sync; a few slots let several syncs share a worker.
    maxConcurrentActivityTaskExecutions: 8,
  });

  let running: Promise<void> | undefined;
  const closeAll = async () => {
    await clientConnection.close();
    await connection.close();
    if (!opts.db) await db.destroy();
  };
  return {
    worker,
    db,
    run: () => {
      running ??= worker.run().finally(closeAll);
      return running;
    },
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
