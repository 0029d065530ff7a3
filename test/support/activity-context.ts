import { asyncLocalStorage, Context } from '@temporalio/activity';

/**
 * Runs an activity body inside a bare activity context (silent logger, no-op heartbeat), the
 * part of MockActivityEnvironment these tests need; @temporalio/testing is not installed.
 */
export function inActivity<T>(body: () => Promise<T>): Promise<T> {
  const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const ActivityContext = Context as unknown as new (...args: unknown[]) => Context;
  const context = new ActivityContext(
    { activityId: 'activity-test', activityType: 'test' },
    new Promise<never>(() => undefined),
    new AbortController().signal,
    () => undefined,
    undefined,
    silent,
    undefined,
    {},
  );
  return asyncLocalStorage.run(context, body);
}
