import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load';
import { ConfigError } from '../../connectors/errors';
import { dedupeFile } from '../../identity/dedupe-file';
import { unifyDataset, type UnifySummary } from '../../identity/unify-dataset';
import { migrate, openDatabase } from '../../store/db';

const DEFAULT_CONFIG = process.env.BRAID_CONFIG ?? 'braid.yaml';
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** `braid dedupe file` (one CSV, no sync) and `braid dedupe preview` (a rule change, dry run). */
export function dedupeCommands(program: Command): void {
  const group = program.command('dedupe').description('try identity rules before they go live');

  group
    .command('file <csv>')
    .description('unify one CSV export and write record_id,master_id for every row')
    .requiredOption('--out <csv>', 'where to write record_id,master_id')
    .option(
      '--rules <yaml>',
      'identity rules (keys, rules, ...); inferred from the file when absent',
    )
    .option('--id <column>', 'column that identifies a row (default: the line number)')
    .option('--delimiter <char>', 'field delimiter (default: detected from the header)')
    .option('--encoding <name>', 'utf8, latin1 or utf16le (default utf8; a BOM wins)')
    .option('--country <code>', 'country of phone numbers written without +, e.g. FR')
    .action(async (csv: string, opts: Record<string, string | undefined>) => {
      const result = await dedupeFile({
        file: csv,
        out: opts.out!,
        idColumn: opts.id,
        rulesFile: opts.rules,
        delimiter: opts.delimiter,
        encoding: opts.encoding as BufferEncoding | undefined,
        defaultCountry: opts.country,
      });
      if (result.inferred) {
        say('# Rules inferred from the file (paste under a dataset in braid.yaml to keep them):');
        say(result.rulesYaml.trimEnd());
      }
      say(`rows read          ${result.rowsRead} (${result.rowsRejected} rejected)`);
      for (const reject of result.rejects.slice(0, 10))
        say(`  line ${reject.line}: ${reject.reason}`);
      printSummary(result.summary);
      say(`written            ${opts.out}`);
    });

  group
    .command('preview <dataset>')
    .description("show what the config's current rules would change, without writing anything")
    .option('-c, --config <file>', 'config file (or set BRAID_CONFIG)', DEFAULT_CONFIG)
    .option('--json', 'print the summary as JSON')
    .action(async (name: string, opts: { config: string; json?: boolean }) => {
      const { file, config } = loadConfig(opts.config);
      const dataset = config.datasets[name];
      if (!dataset) throw new ConfigError(`${file}: unknown dataset "${name}"`);
      // A preview reads what syncs wrote; a missing SQLite file means a wrong path, not "empty".
      if (config.database.client === 'sqlite' && !existsSync(config.database.filename)) {
        throw new ConfigError(
          `${file}: database ${config.database.filename} does not exist (no sync has run?)`,
        );
      }
      const db = openDatabase(config.database);
      try {
        await migrate(db);
        const before = await db('golden_records')
          .where({ dataset: name, status: 'active' })
          .count({ n: '*' });
        const summary = await unifyDataset(db, name, dataset, {
          runId: 'preview',
          nowMs: Date.now(),
          mode: 'full',
          dryRun: true,
        });
        if (opts.json) {
          say(JSON.stringify({ goldenBefore: Number(before[0]?.n ?? 0), ...summary }));
          return;
        }
        say(
          `golden records     ${Number(before[0]?.n ?? 0)} now → ${summary.goldenRecords} with these rules`,
        );
        printSummary(summary);
        say('Nothing was written. Run the sync to apply the rules.');
      } finally {
        await db.destroy();
      }
    });
}

function printSummary(summary: UnifySummary): void {
  for (const warning of summary.warnings) say(`warning: ${warning}`);
  say(`golden records     ${summary.goldenRecords}`);
  say(`  new              ${summary.created}`);
  say(`  merged away      ${summary.merged}`);
  say(`  split off        ${summary.split}`);
  say(`  retired          ${summary.retired}`);
  say(`held as ambiguous  ${summary.ambiguous}`);
  say(
    `merges refused     ${summary.limitRefused} by key limits, ${summary.lockRefused} by locked clusters`,
  );
  if (summary.largestClusters.length > 0) {
    say('largest clusters:');
    for (const c of summary.largestClusters.slice(0, 5)) {
      say(`  ${c.masterId}  ${c.size} records  linked by ${c.linkedBy.join(', ') || '-'}`);
    }
  }
  for (const [rule, pairs] of Object.entries(summary.sampleJoins)) {
    say(`sample pairs joined by ${rule}:`);
    for (const [a, b] of pairs.slice(0, 3)) say(`  ${a}  ~  ${b}`);
  }
  for (const a of summary.ambiguousRecords.slice(0, 5)) {
    say(`ambiguous: ${a.record} could belong to ${a.candidates.join(' or ')}`);
  }
}
