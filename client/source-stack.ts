import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import knexFactory from 'knex';
import type { BraidConfig } from '../config/schema';
import {
  startSalesforceEmulator,
  type FieldSpec,
  type SalesforceEmulator,
} from '../emulators/salesforce';
import {
  startZendeskEmulator,
  type ZendeskEmulator,
  type ZendeskRecord,
} from '../emulators/zendesk';
import { openDatabase } from '../store/db';

/**
 * The sources of the multi-source example, seeded and running on loopback: the Salesforce and
 * Zendesk emulators, the CRM SQLite table and the SFTP drop's file. Used by the demo and its
 * end-to-end test.
 */
export const PROJECT_ROOT = projectRoot(__dirname);
export const MULTI_SOURCE_DIR = path.join(PROJECT_ROOT, 'examples', 'multi-source');
export const MULTI_SOURCE_CONFIG = path.join(MULTI_SOURCE_DIR, 'braid.yaml');
export const MULTI_SOURCE_SEED_DIR = path.join(MULTI_SOURCE_DIR, 'seed');
export const MULTI_SOURCE_SYNC = 'profiles-to-braze';
/** The sources of the example, in the order the demo reports them. */
export const MULTI_SOURCE_NAMES = ['salesforce', 'zendesk', 'crm', 'eshop'] as const;
/** The file the "eshop" drops on SFTP; it matches the example's `pattern`. */
export const DROP_FILE = 'customers_20260101.csv';

export const DEMO_SALESFORCE_USER = 'integration@example.com';
export const DEMO_SALESFORCE_PASSWORD = 'demo-salesforce-password';
export const DEMO_ZENDESK_EMAIL = 'integration@example.com';
export const DEMO_ZENDESK_TOKEN = 'demo-zendesk-token';

/** Contact fields of the seed file, with the API types Salesforce gives them. */
const CONTACT_FIELDS: FieldSpec[] = [
  { name: 'FirstName', type: 'string' },
  { name: 'LastName', type: 'string', nillable: false },
  { name: 'Email', type: 'email' },
  { name: 'Phone', type: 'phone' },
  { name: 'MailingCity', type: 'string' },
];

/** The seeded Salesforce and Zendesk emulators, the CRM database and the env the config reads. */
export interface SourceStack {
  salesforce: SalesforceEmulator;
  zendesk: ZendeskEmulator;
  crmFile: string;
  /** Values for the `${...}` and `{ env: ... }` references of examples/multi-source/braid.yaml. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface SourceStackOptions {
  /** Where the CRM SQLite file is written (replaced if it exists). */
  crmFile: string;
  /** The SFTP drop folder the "eshop" CSV is copied into. */
  dropDir: string;
  /** Largest REST query page the Salesforce emulator answers; Salesforce's 2,000 by default. */
  salesforcePageSize?: number;
  seedDir?: string;
}

/**
 * Starts and seeds every source of the multi-source example on loopback: a Salesforce emulator
 * with the seed Contacts, a Zendesk emulator with the seed users, a SQLite "crm" database with
 * a `customers` table, and the eshop CSV in the SFTP drop folder.
 */
export async function startSourceStack(opts: SourceStackOptions): Promise<SourceStack> {
  const seedDir = opts.seedDir ?? MULTI_SOURCE_SEED_DIR;
  const contactsFile = path.join(seedDir, 'salesforce-contacts.csv');
  const contacts = { fields: CONTACT_FIELDS, csvFile: contactsFile };
  const salesforce = await startSalesforceEmulator({
    objects: { Contact: contacts },
    users: [{ username: DEMO_SALESFORCE_USER, password: DEMO_SALESFORCE_PASSWORD }],
    pageSize: opts.salesforcePageSize,
  });
  let zendesk: ZendeskEmulator;
  try {
    zendesk = await startZendeskEmulator({
      credentials: [{ email: DEMO_ZENDESK_EMAIL, apiToken: DEMO_ZENDESK_TOKEN }],
      users: readZendeskUsers(seedDir),
    });
  } catch (error) {
    await salesforce.stop();
    throw error;
  }
  try {
    await createCrmDatabase(opts.crmFile, path.join(seedDir, 'crm-customers.csv'));
    mkdirSync(opts.dropDir, { recursive: true });
    copyFileSync(path.join(seedDir, DROP_FILE), path.join(opts.dropDir, DROP_FILE));
  } catch (error) {
    await Promise.all([salesforce.stop(), zendesk.stop()]);
    throw error;
  }

  return {
    salesforce,
    zendesk,
    crmFile: opts.crmFile,
    env: {
      SALESFORCE_LOGIN_URL: salesforce.url,
      SALESFORCE_USERNAME: DEMO_SALESFORCE_USER,
      SALESFORCE_PASSWORD: DEMO_SALESFORCE_PASSWORD,
      ZENDESK_URL: zendesk.url,
      ZENDESK_EMAIL: DEMO_ZENDESK_EMAIL,
      ZENDESK_API_TOKEN: DEMO_ZENDESK_TOKEN,
      CRM_DB_FILE: opts.crmFile,
    },
    async stop() {
      await salesforce.stop();
      await zendesk.stop();
    },
  };
}

/** The seed users, in Zendesk's export shape. */
export function readZendeskUsers(seedDir = MULTI_SOURCE_SEED_DIR): ZendeskRecord[] {
  const text = readFileSync(path.join(seedDir, 'zendesk-users.json'), 'utf8');
  return JSON.parse(text) as ZendeskRecord[];
}

/**
 * Writes the CRM's `customers` table from the seed CSV. `updated_at` is text without a zone, as
 * many CRMs store it; the example reads it as UTC (the SQL source's default).
 */
export async function createCrmDatabase(file: string, csvFile: string): Promise<void> {
  rmSync(file, { force: true });
  mkdirSync(path.dirname(file), { recursive: true });
  const rows = parse(readFileSync(csvFile), { columns: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >;
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
  });
  try {
    await db.schema.createTable('customers', (t) => {
      t.integer('id').primary();
      for (const column of ['first_name', 'last_name', 'email', 'phone', 'city']) t.text(column);
      t.integer('loyalty_points');
      t.text('updated_at').notNullable();
    });
    await db('customers').insert(
      rows.map((r) => ({
        ...r,
        id: Number(r.id),
        email: r.email || null,
        phone: r.phone || null,
        loyalty_points: Number(r.loyalty_points),
      })),
    );
  } finally {
    await db.destroy();
  }
}

/** Records staged per source, from the customer database. */
export async function stagedPerSource(config: BraidConfig): Promise<Record<string, number>> {
  const db = openDatabase(config.database);
  try {
    const rows: Array<{ source: string; n: number | string }> = await db('source_records')
      .whereNull('deleted_at_ms')
      .groupBy('source')
      .select('source', db.raw('count(*) as n'));
    return Object.fromEntries(rows.map((r) => [r.source, Number(r.n)]));
  } finally {
    await db.destroy();
  }
}

/**
 * The folder with package.json: this file runs from dist/client (demo) and client/ (tests).
 * The CLI loads this module for every command, so a build copied elsewhere must still start:
 * without a package.json above, the layout's own root is taken, and only the demos, which
 * need the examples, fail later on their missing files.
 */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..');
  }
}
