/** Builds emulator tables from seed rows or from a Bulk API style CSV file. */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { inferFields, SObjectTable, type FieldSpec } from './store';

/** How one sObject is seeded. Rows and CSV may be combined; CSV rows come first. */
export interface ObjectSeed {
  /** Field definitions; by default the Account ones for Account, else inferred from the rows. */
  fields?: FieldSpec[];
  records?: Array<Record<string, unknown>>;
  /** A CSV file with a header row; header names match fields without regard to case. */
  csvFile?: string;
}

/** Standard Account fields as they appear in `Account_bulk1_test.csv`, with their API types. */
export const ACCOUNT_FIELDS: FieldSpec[] = [
  { name: 'Name', type: 'string', nillable: false },
  { name: 'Type', type: 'picklist' },
  { name: 'ParentId', type: 'reference' },
  ...['Billing', 'Shipping'].flatMap((kind): FieldSpec[] => [
    { name: `${kind}Street`, type: 'textarea' },
    { name: `${kind}City`, type: 'string' },
    { name: `${kind}State`, type: 'string' },
    { name: `${kind}PostalCode`, type: 'string' },
    { name: `${kind}Country`, type: 'string' },
  ]),
  { name: 'Phone', type: 'phone' },
  { name: 'Fax', type: 'phone' },
  { name: 'AccountNumber', type: 'string' },
  { name: 'Website', type: 'url' },
  { name: 'Sic', type: 'string' },
  { name: 'Industry', type: 'picklist' },
  { name: 'AnnualRevenue', type: 'currency' },
  { name: 'NumberOfEmployees', type: 'int' },
  { name: 'Ownership', type: 'picklist' },
  { name: 'TickerSymbol', type: 'string' },
  { name: 'Description', type: 'textarea' },
  { name: 'Rating', type: 'picklist' },
  { name: 'Site', type: 'string' },
  { name: 'Jigsaw', type: 'string' },
  { name: 'JigsawCompanyId', type: 'string' },
  { name: 'AccountSource', type: 'picklist' },
  { name: 'SicDesc', type: 'string' },
];

/** A filled table; records without a SystemModstamp get `nowMs`. */
export function buildTable(name: string, seed: ObjectSeed, nowMs: number): SObjectTable {
  const csvRows = seed.csvFile ? readCsv(seed.csvFile) : [];
  const rows = [...csvRows, ...(seed.records ?? [])];
  const fields = seed.fields ?? (name === 'Account' ? ACCOUNT_FIELDS : inferFields(rows));
  const table = new SObjectTable(name, fields);
  for (const row of rows) table.insert(canonicalNames(table, row), nowMs);
  return table;
}

function readCsv(file: string): Array<Record<string, string>> {
  return parse(readFileSync(file), { columns: true, bom: true, skip_empty_lines: true });
}

/** Renames `BILLINGCITY` to `BillingCity`; columns the table does not know are an error. */
function canonicalNames(
  table: SObjectTable,
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const field = table.field(column);
    if (!field) throw new Error(`Seed for ${table.name}: unknown column ${column}`);
    out[field.name] = value;
  }
  return out;
}
