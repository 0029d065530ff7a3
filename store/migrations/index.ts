import type { Knex } from 'knex';
import * as init from './001-init';
import * as identity from './002-identity';
import * as webhook from './003-webhook';
import * as extractProgress from './004-extract-progress';
import * as prepared from './005-prepared';
import * as sftp from './006-sftp';
import * as outboxKinds from './007-outbox-kinds';
import * as identityWatermark from './008-identity-watermark';
import * as eventDelivery from './009-event-delivery';
import * as identityChanges from './010-identity-changes';
import * as preparedChangeSeq from './011-prepared-change-seq';
import * as eventExportSettings from './012-event-export-settings';
import * as linkKeys from './013-link-keys';
import * as destinationAliases from './014-destination-aliases';
import * as identityCollation from './015-identity-collation';
import * as masterIdCollation from './016-master-id-collation';

/**
 * Migrations are listed in code rather than read from a folder, so they run the same from the
 * TypeScript sources (tests) and from the compiled output (the CLI).
 */
const MIGRATIONS: Record<string, Knex.Migration> = {
  '001-init': init,
  '002-identity': identity,
  '003-webhook': webhook,
  '004-extract-progress': extractProgress,
  '005-prepared': prepared,
  '006-sftp': sftp,
  '007-outbox-kinds': outboxKinds,
  '008-identity-watermark': identityWatermark,
  '009-event-delivery': eventDelivery,
  '010-identity-changes': identityChanges,
  '011-prepared-change-seq': preparedChangeSeq,
  '012-event-export-settings': eventExportSettings,
  '013-link-keys': linkKeys,
  '014-destination-aliases': destinationAliases,
  '015-identity-collation': identityCollation,
  '016-master-id-collation': masterIdCollation,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};
