/** In-memory sObjects for the Salesforce emulator: field definitions, records, deletions. */

export type SalesforceFieldType =
  | 'id'
  | 'reference'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'url'
  | 'email'
  | 'phone'
  | 'date'
  | 'datetime'
  | 'double'
  | 'currency'
  | 'int'
  | 'percent'
  | 'boolean';

export interface FieldSpec {
  name: string;
  type: SalesforceFieldType;
  label?: string;
  nillable?: boolean;
}

/** A stored value: datetimes are epoch ms, dates `YYYY-MM-DD`, the rest as JSON would hold them. */
export type FieldValue = string | number | boolean | null;
export type StoredRecord = Map<string, FieldValue>;

export const SYSTEM_FIELDS: FieldSpec[] = [
  { name: 'Id', type: 'id', nillable: false },
  { name: 'IsDeleted', type: 'boolean', nillable: false },
  { name: 'CreatedDate', type: 'datetime', nillable: false },
  { name: 'LastModifiedDate', type: 'datetime', nillable: false },
  { name: 'SystemModstamp', type: 'datetime', nillable: false },
];

const NUMERIC: ReadonlySet<SalesforceFieldType> = new Set(['double', 'currency', 'int', 'percent']);

/** Key prefixes of the standard objects tests use; others get a made-up one. */
const KEY_PREFIXES: Record<string, string> = { Account: '001', Contact: '003', Lead: '00Q' };

/** One sObject type: its fields (looked up without regard to case, as SOQL does) and records. */
export class SObjectTable {
  readonly fields: FieldSpec[];
  readonly records = new Map<string, StoredRecord>();
  readonly deletedLog: Array<{ id: string; deletedDateMs: number }> = [];
  readonly keyPrefix: string;
  private readonly byLowerName = new Map<string, FieldSpec>();
  private nextNumber = 1;

  constructor(
    readonly name: string,
    fields: FieldSpec[],
  ) {
    const seen = new Set(SYSTEM_FIELDS.map((f) => f.name.toLowerCase()));
    this.fields = [...SYSTEM_FIELDS, ...fields.filter((f) => !seen.has(f.name.toLowerCase()))];
    for (const field of this.fields) this.byLowerName.set(field.name.toLowerCase(), field);
    this.keyPrefix = KEY_PREFIXES[name] ?? 'a0X';
  }

  field(name: string): FieldSpec | undefined {
    return this.byLowerName.get(name.toLowerCase());
  }

  /** Stores a record given loosely typed values; missing system fields are filled from `nowMs`. */
  insert(values: Record<string, unknown>, nowMs: number): string {
    const record: StoredRecord = new Map();
    for (const [name, raw] of Object.entries(values)) {
      const field = this.field(name);
      if (!field) throw new Error(`${this.name} has no field ${name}`);
      record.set(field.name, coerce(field, raw));
    }
    const id = (record.get('Id') as string | null | undefined) ?? this.newId();
    const modstamp = (record.get('SystemModstamp') as number | null | undefined) ?? nowMs;
    record.set('Id', id);
    record.set('IsDeleted', record.get('IsDeleted') ?? false);
    record.set('SystemModstamp', modstamp);
    record.set('LastModifiedDate', record.get('LastModifiedDate') ?? modstamp);
    record.set('CreatedDate', record.get('CreatedDate') ?? modstamp);
    for (const field of this.fields) if (!record.has(field.name)) record.set(field.name, null);
    this.records.set(id, record);
    return id;
  }

  /** Changes fields of a live record and moves its modification stamps to `nowMs`. */
  update(id: string, values: Record<string, unknown>, nowMs: number): void {
    const record = this.records.get(id);
    if (!record || record.get('IsDeleted') === true)
      throw new Error(`${this.name} ${id} not found`);
    for (const [name, raw] of Object.entries(values)) {
      const field = this.field(name);
      if (!field) throw new Error(`${this.name} has no field ${name}`);
      record.set(field.name, coerce(field, raw));
    }
    record.set('SystemModstamp', nowMs);
    record.set('LastModifiedDate', nowMs);
  }

  /** Moves a record to the recycle bin: IsDeleted, a new SystemModstamp, a deleted-log entry. */
  delete(id: string, nowMs: number): void {
    const record = this.records.get(id);
    if (!record || record.get('IsDeleted') === true)
      throw new Error(`${this.name} ${id} not found`);
    record.set('IsDeleted', true);
    record.set('SystemModstamp', nowMs);
    this.deletedLog.push({ id, deletedDateMs: nowMs });
  }

  private newId(): string {
    const base = `${this.keyPrefix}${String(this.nextNumber++).padStart(12, '0')}`;
    return base + idChecksum(base);
  }
}

/** The 3-character suffix that makes a 15-character Id case-insensitively unique. */
export function idChecksum(id15: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15[chunk * 5 + i] ?? '';
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += alphabet[bits];
  }
  return suffix;
}

/** Infers field specs from seed rows when none are given: the JS type of the first value. */
export function inferFields(rows: Array<Record<string, unknown>>): FieldSpec[] {
  const types = new Map<string, SalesforceFieldType>();
  for (const row of rows) {
    for (const [name, value] of Object.entries(row)) {
      if (types.has(name) || value === null || value === undefined || value === '') continue;
      types.set(
        name,
        typeof value === 'number'
          ? 'double'
          : typeof value === 'boolean'
            ? 'boolean'
            : value instanceof Date
              ? 'datetime'
              : 'string',
      );
    }
    for (const name of Object.keys(row)) if (!types.has(name)) types.set(name, 'string');
  }
  return [...types].map(([name, type]) => ({ name, type }));
}

/** Converts a seed or update value to the stored form of its field type. */
export function coerce(field: FieldSpec, raw: unknown): FieldValue {
  if (raw === null || raw === undefined || raw === '') return null;
  if (field.type === 'datetime') {
    const ms =
      raw instanceof Date ? raw.getTime() : typeof raw === 'number' ? raw : Date.parse(String(raw));
    if (!Number.isFinite(ms)) throw new Error(`${field.name}: not a datetime: ${String(raw)}`);
    return ms;
  }
  if (field.type === 'date') {
    return raw instanceof Date ? raw.toISOString().slice(0, 10) : String(raw).slice(0, 10);
  }
  if (NUMERIC.has(field.type)) {
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(n)) throw new Error(`${field.name}: not a number: ${String(raw)}`);
    return n;
  }
  if (field.type === 'boolean') return raw === true || String(raw).toLowerCase() === 'true';
  return String(raw);
}

/** Formats a datetime the way the REST API writes it: `2026-03-01T08:15:00.000+0000`. */
export function restDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Whether a field type holds numbers, for comparisons and describe. */
export function isNumeric(type: SalesforceFieldType): boolean {
  return NUMERIC.has(type);
}
