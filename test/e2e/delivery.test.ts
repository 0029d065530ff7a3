import { startE2E, type E2E } from '../support/e2e';

/** Delivery under the destination's limits and failures, against the Braze emulator. */
describe('delivery pacing, rate limits and errors', () => {
  let e2e: E2E | undefined;

  afterEach(async () => {
    await e2e?.stop();
    e2e = undefined;
  });

  async function start(opts: Parameters<typeof startE2E>[0]): Promise<E2E> {
    e2e = await startE2E(opts);
    e2e.dropSample();
    return e2e;
  }

  test('sends at most the configured request volume per time window', async () => {
    const env = await start({
      backend: 'sqlite',
      batchSize: 50,
      requestVolume: 2,
      timeWindowSeconds: 1,
    });

    const report = await env.runSync();

    expect(report).toMatchObject({ status: 'succeeded', recordsDelivered: 347, requestsSent: 7 });
    const times = env.braze.requestLog().map((entry) => entry.at);
    // 7 requests, 2 per 1 s window: windows start at 0, 1, 2 and 3 s at the earliest.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3000);
    for (let i = 2; i < times.length; i++)
      expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(950);
  });

  test('pauses when Braze says the rate limit is used up, before it has to answer 429', async () => {
    const env = await start({
      backend: 'sqlite',
      batchSize: 50,
      brazeRequestVolume: 3,
      requestVolume: 100,
    });

    const report = await env.runSync();

    expect(report).toMatchObject({ status: 'succeeded', recordsDelivered: 347, requestsSent: 7 });
    expect(report.rateLimitedWaits).toBe(2);
    expect(env.braze.stats().rateLimited).toBe(0);
    const times = env.braze.requestLog().map((entry) => entry.at);
    // Braze allows 3 requests per 3 s window here: the 4th and 7th wait for a new window.
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(2900);
    expect(times[6]! - times[3]!).toBeGreaterThanOrEqual(2900);
  });

  test('waits after a 429 and re-sends the refused batch', async () => {
    const env = await start({ backend: 'sqlite' });
    env.braze.failNext(2, 429);

    const report = await env.runSync();

    expect(report).toMatchObject({ status: 'succeeded', recordsDelivered: 347, requestsSent: 7 });
    expect(report.rateLimitedWaits).toBe(2);
    expect(env.braze.stats().profiles).toBe(347);
  });

  test('retries 5xx answers and counts the extra requests', async () => {
    const env = await start({ backend: 'sqlite' });
    env.braze.failNext(2, 503);

    const report = await env.runSync();

    expect(report).toMatchObject({ status: 'succeeded', recordsDelivered: 347, requestsSent: 7 });
    expect(env.braze.stats().profiles).toBe(347);
  });

  test('a 400 fails only its batch, reports its records, and the next run sends them', async () => {
    const env = await start({ backend: 'sqlite' });
    env.braze.failNext(1, 400);

    const first = await env.runSync();

    expect(first).toMatchObject({
      status: 'succeeded',
      batchesFailed: 1,
      requestsSent: 5,
      recordsDelivered: 272,
    });
    expect(first.recordsRejectedByDestination).toBe(75);
    expect(first.rejections.find((r) => r.stage === 'deliver')?.reason).toBe(
      'Braze /users/track answered HTTP 400',
    );
    expect(env.braze.stats().profiles).toBe(272);

    const second = await env.runSync();

    expect(second).toMatchObject({
      status: 'succeeded',
      recordsPlanned: 75,
      requestsSent: 1,
      recordsDelivered: 75,
    });
    expect(env.braze.stats().profiles).toBe(347);
  });

  test('a rejected API key fails the run without retrying and never shows the key', async () => {
    const env = await start({ backend: 'sqlite' });
    process.env.E2E_BRAZE_KEY = 'wrong-key-123';

    const report = await env.runSync();

    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/401/);
    expect(JSON.stringify(report)).not.toContain('wrong-key-123');
    expect(env.braze.stats().requests).toBe(1);
  });
});
