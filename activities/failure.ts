import { ApplicationFailure } from '@temporalio/common';
import { RateLimitError, SyncError } from '../connectors/errors';

/**
 * Converts any error thrown inside an activity into the failure Temporal records. Typed errors
 * keep their class name as the failure type and decide retrying; the message is kept but never
 * the library error's request details, since failures are stored in workflow history.
 */
export function toFailure(error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof SyncError) {
    return ApplicationFailure.create({
      type: error.name,
      message: error.message,
      nonRetryable: !error.retryable,
      nextRetryDelay: error instanceof RateLimitError ? error.retryAfterMs : undefined,
    });
  }
  // Duck-typed: errors from native modules can come from another realm than this Error.
  const message = isErrorLike(error) ? withoutSql(error) : String(error);
  return ApplicationFailure.create({ type: 'UnexpectedError', message, nonRetryable: false });
}

/**
 * knex puts the failing statement, with its bound values, in front of the database's message
 * (`insert into ... values ('ana@example.org', ...) - UNIQUE constraint failed`). Those values
 * are customer data and would be stored in workflow history; keep the database's own words.
 */
export function withoutSql(error: { message: string }): string {
  const code = (error as { code?: unknown }).code;
  const at = error.message.lastIndexOf(' - ');
  if (typeof code !== 'string' || at < 0) return error.message;
  return `database error ${code}: ${error.message.slice(at + 3)}`;
}

function isErrorLike(value: unknown): value is { message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Runs an activity body and converts whatever it throws in one place. */
export async function withFailures<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toFailure(error);
  }
}
