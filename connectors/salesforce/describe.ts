/** `braid source describe` for Salesforce: the object's fields with Braid types. */
import type { DiscoveredField } from '../source-reader';
import { SalesforceSession, type SalesforceConnectionOptions } from './session';

/** Salesforce field type → Braid type; every type not listed is read as a string. */
const BRAID_TYPES: Record<string, string> = {
  email: 'email',
  phone: 'phone',
  date: 'date',
  datetime: 'datetime',
  double: 'number',
  currency: 'number',
  int: 'number',
  percent: 'number',
  boolean: 'boolean',
};

/** The Braid type for a Salesforce describe `type`. */
export function braidType(salesforceType: string): string {
  return BRAID_TYPES[salesforceType] ?? 'string';
}

/**
 * Describes the object through `sobjects/<object>/describe`, one request after logging in.
 * Fields come in Salesforce's order; `nullable` is the field's `nillable`.
 */
export async function describeSalesforce(
  opts: SalesforceConnectionOptions & { object: string },
  signal: AbortSignal = new AbortController().signal,
): Promise<DiscoveredField[]> {
  const session = new SalesforceSession(opts);
  const url = `${session.dataPath}/sobjects/${encodeURIComponent(opts.object)}/describe`;
  const { body } = await session.send<{
    fields: Array<{ name: string; type: string; nillable: boolean }>;
  }>({ method: 'GET', url }, `describe ${opts.object}`, signal);
  return body.fields.map((field) => ({
    name: field.name,
    type: braidType(field.type),
    sourceType: field.type,
    nullable: field.nillable,
  }));
}
