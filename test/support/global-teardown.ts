/** Stops what global-setup started, newest first. */
export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__braidServices as
    { stops: Array<() => Promise<void> | void> } | undefined;
  for (const stop of (state?.stops ?? []).reverse()) await stop();
}
