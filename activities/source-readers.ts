import { log } from '@temporalio/activity';
import { resolveSecret } from '../config/secret-ref';
import type { SourceConfig } from '../config/schema';
import { salesforceReaderOptions } from '../config/sources/salesforce';
import { zendeskReaderOptions } from '../config/sources/zendesk';
import { SalesforceReader } from '../connectors/salesforce';
import type { SourceReader } from '../connectors/source-reader';
import { sqlTableOptions } from '../config/sources/sql';
import { SqlTableReader } from '../connectors/sql';
import { ZendeskReader } from '../connectors/zendesk';

type PullConfig = Exclude<SourceConfig, { type: 'sftp' } | { type: 'webhook' }>;

/** The page reader for an API or table source; secrets are resolved when it connects. */
export function openSourceReader(name: string, config: PullConfig): SourceReader {
  switch (config.type) {
    case 'salesforce':
      return new SalesforceReader(salesforceReaderOptions(name, config));
    case 'zendesk':
      return new ZendeskReader({
        ...zendeskReaderOptions(name, config, resolveSecret),
        logger: log,
      });
    case 'sql':
      // A relative SQLite path was made absolute against the config's folder when it loaded.
      return new SqlTableReader(sqlTableOptions(name, config, process.cwd()));
  }
}
