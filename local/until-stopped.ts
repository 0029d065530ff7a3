/**
 * Resolves when the process is asked to stop: Ctrl-C (SIGINT) in a terminal, or SIGTERM from a
 * process manager or `kill`. Long-running commands wait on this and then stop what they
 * started; waiting on SIGINT alone let `kill <pid>` end the command at once and leave its
 * child processes (the Temporal dev server) running.
 */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
