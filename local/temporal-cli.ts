import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The Temporal CLI version built when `temporal` is not on PATH. v1.5.1 is the newest release
 * whose go.mod has no `replace` directive, so `go install ...@version` works with it.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Where the built CLI is kept, outside any clone, so later clones and CI runs reuse it. */
export function cacheBinDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'braid', 'bin');
}

const HOW_TO_GET_IT = [
  'Braid needs the Temporal CLI (`temporal`) to run a local Temporal server.',
  'Install it one of these ways, then run the command again:',
  `  - with Go 1.22 or newer: GOBIN=${cacheBinDir()} go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`,
  '  - from https://docs.temporal.io/cli#install, and put `temporal` on PATH',
  '  - or set BRAID_TEMPORAL_CLI to the path of an existing binary',
].join('\n');

/** Raised when no Temporal CLI can be found or built; the message tells the user what to do. */
export class TemporalCliMissingError extends Error {
  constructor(detail: string) {
    super(`${detail}\n${HOW_TO_GET_IT}`);
    this.name = 'TemporalCliMissingError';
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds the Temporal CLI: BRAID_TEMPORAL_CLI, then PATH, then the cache; when none is there and
 * Go is, builds the pinned version into the cache (a few minutes the first time).
 */
export function ensureTemporalCli(log: (line: string) => void = () => {}): string {
  const explicit = process.env.BRAID_TEMPORAL_CLI;
  if (explicit) {
    if (!existsSync(explicit))
      throw new TemporalCliMissingError(`BRAID_TEMPORAL_CLI=${explicit} does not exist.`);
    return explicit;
  }
  const found = onPath('temporal');
  if (found) return found;

  const cached = path.join(cacheBinDir(), 'temporal');
  if (existsSync(cached)) return cached;

  const go =
    onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go)
    throw new TemporalCliMissingError('No `temporal` on PATH, none cached, and no Go to build it.');

  mkdirSync(cacheBinDir(), { recursive: true });
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${cacheBinDir()}. ` +
      'This happens once per machine and takes a few minutes.',
  );
  const built = spawnSync(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: cacheBinDir() },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0 || !existsSync(cached)) {
    throw new TemporalCliMissingError(
      `\`go install\` of the Temporal CLI failed (exit ${built.status}).`,
    );
  }
  return cached;
}
