/**
 * Reads the Braze emulator's data-point counter, so run reports can say how many data points a
 * run wrote. Only loopback endpoints are asked: a real Braze endpoint is never probed.
 */
export async function readEmulatorDataPoints(endpoint: string): Promise<number | null> {
  const url = new URL(endpoint);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return null;
  try {
    const response = await fetch(new URL('/_emulator/stats', url), {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) return null;
    const stats = (await response.json()) as { dataPointsWritten?: unknown };
    return typeof stats.dataPointsWritten === 'number' ? stats.dataPointsWritten : null;
  } catch {
    return null;
  }
}
