/**
 * The entry of a bench step run as a child process: reads the step's input from argv[2] as
 * JSON, runs it, and prints its output with the process's peak memory as one JSON line, so
 * each peak belongs to one step.
 */
export function runCaseMain<I, O extends object>(runCase: (input: I) => Promise<O>): void {
  const input = JSON.parse(process.argv[2] ?? '{}') as I;
  runCase(input).then(
    (output) => {
      // maxRSS is in kibibytes on Linux and macOS.
      const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      process.stdout.write(`${JSON.stringify({ ...output, peakRssMb })}\n`);
    },
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    },
  );
}
