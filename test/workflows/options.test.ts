import * as errors from '../../connectors/errors';
import { FINAL_ERROR_TYPES } from '../../workflows/options';

describe('retry policies', () => {
  test('name exactly the connector errors that are never retryable', () => {
    // Every error class whose instances are never retryable, whatever they carry. UpstreamError
    // depends on its status, so it is checked separately below.
    const finalClasses = (Object.values(errors) as unknown[])
      .filter(
        (value): value is new (m: string, n: number) => errors.SyncError =>
          typeof value === 'function' &&
          value.prototype instanceof errors.SyncError &&
          value !== errors.UpstreamError,
      )
      .filter((cls) => !new cls('x', 1000).retryable)
      .map((cls) => cls.name)
      .sort();

    expect([...FINAL_ERROR_TYPES].sort()).toEqual(finalClasses);
    expect([...errors.FINAL_ERROR_TYPES].sort()).toEqual(finalClasses);
    expect(new errors.ConfigError('x').retryable).toBe(false);
    expect(new errors.AuthError('x').retryable).toBe(false);
    expect(new errors.BadInputError('x').retryable).toBe(false);
    expect(new errors.RateLimitError('x', 1000).retryable).toBe(true);
    expect(new errors.UpstreamError('x', 503).retryable).toBe(true);
    expect(new errors.UpstreamError('x', 501).retryable).toBe(false);
    expect(new errors.UpstreamError('x', 400).retryable).toBe(false);
  });
});
