import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load';
import type { BraidConfig, SftpSourceConfig } from '../../config/schema';
import { resolveSecret } from '../../config/secret-ref';
import { salesforceReaderOptions } from '../../config/sources/salesforce';
import { sqlTableOptions } from '../../config/sources/sql';
import { zendeskReaderOptions } from '../../config/sources/zendesk';
import { ConfigError } from '../../connectors/errors';
import { describeSalesforce } from '../../connectors/salesforce';
import type { DiscoveredField } from '../../connectors/source-reader';
import { describeSftpSource } from '../../connectors/sftp/describe';
import { matcherFor } from '../../connectors/sftp/file-names';
import { describeSqlTable } from '../../connectors/sql';
import { describeZendesk } from '../../connectors/zendesk';
import type { CommandGroup } from './index';

const DEFAULT_CONFIG = process.env.BRAID_CONFIG ?? 'braid.yaml';

/** One field as `braid source describe` shows it. */
export interface DescribedField {
  name: string;
  /** Braid's type: declared by the source, or guessed from sampled values for files. */
  type: string;
  sourceType?: string;
  nullable?: boolean;
  /** Files: sampled records with a value, and how many of those fit `type`. */
  filled?: number;
  matching?: number;
  note?: string;
}

/** The result of describing a source; `file` and `sampled` only for SFTP sources. */
export interface SourceDescription {
  source: string;
  type: string;
  fields: DescribedField[];
  file?: { name: string; sizeBytes: number; modifiedAtMs: number; fileDate?: string };
  sampled?: number;
  rejected?: number;
}

/**
 * Describes a configured source for review: SFTP samples its newest matching file and guesses
 * types; Salesforce, Zendesk and SQL ask the source for its fields; a webhook lists the columns
 * its config and datasets declare. Secrets are resolved here and never printed.
 */
export async function describeSource(
  config: BraidConfig,
  name: string,
  configFile: string,
): Promise<SourceDescription> {
  const source = config.sources[name];
  if (!source) {
    const known = Object.keys(config.sources).join(', ') || 'none';
    throw new ConfigError(`${configFile}: unknown source "${name}" (configured: ${known})`);
  }
  const discovered = (fields: DiscoveredField[]): SourceDescription => ({
    source: name,
    type: source.type,
    fields: fields.map((f) => ({ ...f })),
  });
  switch (source.type) {
    case 'sftp':
      return describeSftp(name, source);
    case 'salesforce':
      return discovered(await describeSalesforce(salesforceReaderOptions(name, source)));
    case 'zendesk': {
      const options = zendeskReaderOptions(name, source, resolveSecret);
      return discovered(await describeZendesk(options, new AbortController().signal));
    }
    case 'sql':
      return discovered(
        await describeSqlTable(sqlTableOptions(name, source, path.dirname(configFile))),
      );
    case 'webhook':
      return { source: name, type: 'webhook', fields: declaredColumns(config, name, source) };
  }
}

async function describeSftp(name: string, source: SftpSourceConfig): Promise<SourceDescription> {
  const what = `sources.${name}`;
  const described = await describeSftpSource({
    connection: {
      host: source.host,
      port: source.port,
      username: source.username,
      password: source.password && resolveSecret(source.password, `${what}.password`),
      privateKey: source.privateKey && resolveSecret(source.privateKey, `${what}.privateKey`),
    },
    directory: source.directory,
    names: matcherFor(source),
    format: source.format,
    numberLocale: source.format.numberLocale,
  });
  const file = described.file && {
    name: described.file.name,
    sizeBytes: described.file.sizeBytes,
    modifiedAtMs: described.file.modifiedAtMs,
    ...(described.file.fileDate ? { fileDate: described.file.fileDate } : {}),
  };
  return {
    source: name,
    type: 'sftp',
    fields: described.columns,
    ...(file ? { file } : {}),
    sampled: described.sampled,
    rejected: described.rejected,
  };
}

/** A webhook declares no schema of its own: its key columns plus the datasets' field types. */
function declaredColumns(
  config: BraidConfig,
  name: string,
  source: { recordKey: string; updatedAt?: string; eventId?: string },
): DescribedField[] {
  const fields = new Map<string, DescribedField>();
  fields.set(source.recordKey, { name: source.recordKey, type: 'string', sourceType: 'recordKey' });
  if (source.updatedAt) {
    fields.set(source.updatedAt, { name: source.updatedAt, type: 'date', sourceType: 'updatedAt' });
  }
  if (source.eventId) {
    fields.set(source.eventId, { name: source.eventId, type: 'string', sourceType: 'eventId' });
  }
  for (const [datasetName, dataset] of Object.entries(config.datasets)) {
    if (!dataset.sources.includes(name)) continue;
    for (const [field, type] of Object.entries(dataset.fields)) {
      const known = fields.get(field);
      const sourceType = `datasets.${datasetName}.fields`;
      fields.set(field, known ? { ...known, type } : { name: field, type, sourceType });
    }
  }
  return [...fields.values()];
}

/** Lines for a terminal: one per field, with sample counts for files. */
export function formatDescription(d: SourceDescription): string[] {
  const lines = [`Source ${d.source} (${d.type})`];
  if (d.type === 'sftp') {
    if (!d.file) return [...lines, '  no file matches yet'];
    const dated = d.file.fileDate ? `, dated ${d.file.fileDate}` : '';
    lines.push(`  sampled ${d.file.name}${dated}: ${d.sampled} records (${d.rejected} rejected)`);
  }
  const width = Math.max(...d.fields.map((f) => f.name.length), 4);
  for (const f of d.fields) {
    const counts = f.filled === undefined ? '' : `  ${f.matching}/${f.filled} values fit`;
    const origin = f.sourceType ? `  (${f.sourceType}${f.nullable ? ', nullable' : ''})` : '';
    const note = f.note ? `  note: ${f.note}` : '';
    lines.push(`  ${f.name.padEnd(width)}  ${f.type.padEnd(8)}${counts}${origin}${note}`);
  }
  return lines;
}

/** `braid source describe <source>`. */
export const sourceCommands: CommandGroup = (program: Command) => {
  const group = program.command('source').description('inspect configured sources');
  group
    .command('describe <source>')
    .description('show the fields of a source with their types, for review')
    .option('-c, --config <file>', 'config file (or set BRAID_CONFIG)', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { config: string; json?: boolean }) => {
      const { file, config } = loadConfig(opts.config);
      const description = await describeSource(config, name, file);
      if (opts.json) process.stdout.write(`${JSON.stringify(description)}\n`);
      else process.stdout.write(`${formatDescription(description).join('\n')}\n`);
    });
};
