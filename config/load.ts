import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../connectors/errors';
import { checkDatasetLinks } from './datasets/references';
import { BraidConfig } from './schema';

export { resolveSecret } from './secret-ref';

/** A validated config plus where it came from, so relative paths resolve against its folder. */
export interface LoadedConfig {
  file: string;
  config: BraidConfig;
}

/** Reads and validates a config file; every problem names the file and the path inside it. */
export function loadConfig(file: string): LoadedConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${absolute}`, error);
  }
  return { file: absolute, config: parseConfig(text, absolute) };
}

/** Validates config text; `file` is only used in messages and to resolve relative paths. */
export function parseConfig(text: string, file: string): BraidConfig {
  const doc = YAML.parseDocument(interpolate(text, file), { prettyErrors: true });
  if (doc.errors.length > 0) {
    // The pretty message goes on to quote the offending line, which can hold an interpolated
    // value such as a database URL with its password; keep only the first line (and position).
    const message = doc.errors[0]!.message.split('\n')[0]!.replace(/:$/, '');
    throw new ConfigError(`${file}: invalid YAML: ${message}`);
  }
  const parsed = BraidConfig.safeParse(doc.toJS());
  if (!parsed.success) throw new ConfigError(`${file}: ${describeIssues(parsed.error.issues)}`);

  const config = parsed.data;
  checkReferences(config, file);
  if (config.database.client === 'sqlite' && config.database.filename !== ':memory:') {
    config.database.filename = path.resolve(path.dirname(file), config.database.filename);
  }
  // SQLite files named by SQL sources are relative to the config file too.
  for (const source of Object.values(config.sources)) {
    if (
      source.type === 'sql' &&
      source.client === 'sqlite' &&
      typeof source.connection === 'string'
    ) {
      source.connection = path.resolve(path.dirname(file), source.connection);
    }
  }
  // So is an RFM segments file: prepare reads it in a worker whose working folder may differ.
  for (const dataset of Object.values(config.datasets)) {
    const rfm = dataset.scores?.rfm;
    if (typeof rfm?.segments === 'string') {
      rfm.segments = path.resolve(path.dirname(file), rfm.segments);
    }
  }
  return config;
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` with environment values, so one config file serves
 * several machines (ports, hosts). Secrets should still be `{ env: NAME }` references, which are
 * resolved only inside activities.
 */
function interpolate(text: string, file: string): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_, name: string, fallback?: string) => {
      const value = process.env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `${file}: \${${name}} is used but the environment variable ${name} is not set`,
      );
    },
  );
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`)
    .join('; ');
}

function checkReferences(config: BraidConfig, file: string): void {
  const problems: string[] = [];
  for (const [name, dataset] of Object.entries(config.datasets)) {
    dataset.sources.forEach((source, i) => {
      if (!config.sources[source]) {
        problems.push(`datasets.${name}.sources.${i}: unknown source "${source}"`);
      }
    });
  }
  for (const [name, sync] of Object.entries(config.syncs)) {
    if (!config.datasets[sync.dataset]) {
      problems.push(`syncs.${name}.dataset: unknown dataset "${sync.dataset}"`);
    }
    const destination = config.destinations[sync.destination];
    if (!destination) {
      problems.push(`syncs.${name}.destination: unknown destination "${sync.destination}"`);
      continue;
    }
    for (const attribute of destination.attributes) {
      if (!Object.hasOwn(sync.mapping, attribute.name)) {
        problems.push(
          `destinations.${sync.destination}.attributes: "${attribute.name}" is not mapped by ` +
            `syncs.${name}.mapping`,
        );
      }
    }
  }
  problems.push(...checkDatasetLinks(config.datasets, config.syncs));
  if (problems.length > 0) throw new ConfigError(`${file}: ${problems.join('; ')}`);
}

/** Looks up a sync and everything it refers to; throws ConfigError naming the sync. */
export function resolveSync(config: BraidConfig, syncId: string) {
  const sync = config.syncs[syncId];
  if (!sync) {
    const known = Object.keys(config.syncs).join(', ') || 'none';
    throw new ConfigError(`Unknown sync "${syncId}" (configured: ${known})`);
  }
  const dataset = config.datasets[sync.dataset]!;
  const destination = config.destinations[sync.destination]!;
  return { sync, dataset, destination };
}
