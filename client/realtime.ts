import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { BraidConfig } from '../config/schema';
import { requestSyncRun } from './sync-control';

export interface RealtimeLog {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Syncs to run when a source receives records: real-time syncs whose dataset reads it. */
export function realtimeSyncsOf(config: BraidConfig, source: string): string[] {
  return Object.entries(config.syncs)
    .filter(([, sync]) => sync.realtime && config.datasets[sync.dataset]?.sources.includes(source))
    .map(([id]) => id);
}

/**
 * The webhook server's `onStaged` hook: signals each real-time sync reading the source. Bursts
 * are coalesced twice: here (one signal per sync per `debounceMs`) and in the sync's controller
 * (one queued push run at a time), so a flood of pushes becomes a few runs, not one per push.
 */
export function realtimeTrigger(
  config: BraidConfig,
  client: Client,
  log: RealtimeLog,
  debounceMs = 1000,
): (source: string, count: number) => Promise<void> {
  const pending = new Map<string, Promise<void>>();
  return async (source, count) => {
    const runs = realtimeSyncsOf(config, source).map((syncId) => {
      const waiting = pending.get(syncId);
      if (waiting) return waiting;
      const signal = (async () => {
        await new Promise((resolve) => setTimeout(resolve, debounceMs));
        pending.delete(syncId);
        try {
          const requestId = `push-${randomUUID()}`;
          await requestSyncRun(client, config.temporal.taskQueue, {
            syncId,
            trigger: 'push',
            requestId,
          });
          log.info('Real-time run requested', { syncId, source, recordCount: count });
        } catch (error) {
          log.error('Real-time run request failed', { syncId, source, error: String(error) });
        }
      })();
      pending.set(syncId, signal);
      return signal;
    });
    await Promise.all(runs);
  };
}
