/**
 * Infers match keys and identity rules for a file from its header and a sample of its rows, for
 * `braid dedupe file` without `--rules`, and prints them as config YAML. Pure: no I/O.
 */
import { Document, isScalar, isSeq, visit } from 'yaml';

import type { IdentityRule, MatchKey } from '../../config/schema';
import { isValidEmail } from '../normalize';
import { canonicalHeader, headerMentionsBirth, roleFromHeader } from './column-roles';
import type { ColumnRole } from './column-roles';
import { normalizeDateKey, normalizePhone } from './normalizers';

/** Jaro-Winkler thresholds of the default fuzzy rule; surnames vary less than first names. */
export const FUZZY_LAST_NAME_THRESHOLD = 0.92;
export const FUZZY_FIRST_NAME_THRESHOLD = 0.88;

// Share of non-blank sample values that must fit for a column to be read by its values alone,
// and the lower share that confirms a column whose header already names it (typos are common).
const VALUES_DECIDE = 0.8;
const VALUES_CONFIRM = 0.5;
// Fewer non-blank values than this say nothing about a column.
const MIN_VALUES = 5;

/** What {@link inferIdentityRules} found. */
export interface InferredRules {
  keys: MatchKey[];
  rules: IdentityRule[];
  /** The column that identifies rows of the file, when one is named like it. */
  recordKey?: string;
  /** One line per decision, for the user. */
  explanation: string[];
}

/** Options of {@link inferIdentityRules}. */
export interface InferOptions {
  /** Country of phone numbers written without an international prefix (ISO 3166 alpha-2). */
  defaultCountry?: string;
}

type Row = Readonly<Record<string, string | undefined>>;

/** Columns of the default fuzzy rule; a rule needs all three. */
export interface NameColumns {
  firstName?: string;
  lastName?: string;
  dob?: string;
}

/**
 * The default rule sets for customer data: first `exact`, linking on any of `keyNames`; then,
 * when first name, last name and birth date columns all exist, `fuzzy_name`, which links records
 * born the same day whose last names reach Jaro-Winkler 0.92 and first names 0.88.
 */
export function defaultCustomerRules(
  keyNames: readonly string[],
  columns: NameColumns,
): IdentityRule[] {
  const rules: IdentityRule[] = [];
  if (keyNames.length > 0) rules.push({ name: 'exact', keys: [...keyNames] });
  const { firstName, lastName, dob } = columns;
  if (firstName && lastName && dob) {
    rules.push({
      name: 'fuzzy_name',
      block: [dob],
      compare: [
        { column: lastName, method: 'jaro_winkler', threshold: FUZZY_LAST_NAME_THRESHOLD },
        { column: firstName, method: 'jaro_winkler', threshold: FUZZY_FIRST_NAME_THRESHOLD },
      ],
    });
  }
  return rules;
}

/**
 * Recognises identifier columns by header (English and French, see column-roles) and by values
 * (a column whose non-blank sample values are over 80% valid emails, or phone numbers, is one
 * whatever its name), then builds keys: each email, each phone, each external or national id
 * (one value per golden record), and the compounds name + birth date and name + postcode.
 * `headers` are the file's column names as the reader returns them; `sampleRows` are keyed by
 * them. Rules follow {@link defaultCustomerRules}.
 */
export function inferIdentityRules(
  headers: readonly string[],
  sampleRows: readonly Row[],
  options: InferOptions = {},
): InferredRules {
  const explanation: string[] = [];
  const roles = new Map<string, ColumnRole>();
  for (const header of headers) {
    const role = roleOf(header, sampleRows, options, explanation);
    if (role) roles.set(header, role);
  }
  const byRole = (role: ColumnRole) => headers.filter((h) => roles.get(h) === role);

  const recordKey = byRole('record_id')[0];
  if (recordKey) {
    explanation.push(`${q(recordKey)} is the file's record id: it names rows, not people.`);
  }
  const names = new KeyNames();
  const keys: MatchKey[] = [
    ...byRole('email').map((column) => key(names.take('email'), [column], 'email')),
    ...byRole('phone').map((column) => key(names.take('phone'), [column], 'phone')),
    ...byRole('external_id').map((column) => idKey(names, column, 'text')),
    ...byRole('national_id').map((column) =>
      idKey(names, column, idNormalizer(column, sampleRows)),
    ),
  ];
  if (byRole('phone').length > 0 && !options.defaultCountry) {
    explanation.push('Phones without a + or 00 prefix are not read: set defaultCountry.');
  }

  const firstName = byRole('first_name')[0];
  const lastName = byRole('last_name')[0];
  const person = firstName && lastName ? [firstName, lastName] : byRole('full_name').slice(0, 1);
  const dob = byRole('dob')[0];
  const postcode = byRole('postcode')[0];
  if (person.length > 0 && dob) keys.push(key(names.take('name_dob'), [...person, dob], 'text'));
  if (person.length > 0 && postcode) {
    keys.push(key(names.take('name_postcode'), [...person, postcode], 'text'));
  }
  for (const k of keys) explanation.push(describeKey(k));

  const rules = defaultCustomerRules(
    keys.map((k) => k.name),
    { firstName, lastName, dob },
  );
  if (rules.some((r) => r.name === 'fuzzy_name')) {
    explanation.push(
      `Rule fuzzy_name: same ${q(dob!)}, ${q(lastName!)} Jaro-Winkler >= ` +
        `${FUZZY_LAST_NAME_THRESHOLD} and ${q(firstName!)} >= ${FUZZY_FIRST_NAME_THRESHOLD}.`,
    );
  }
  const unused = headers.filter((h) => !roles.has(h));
  if (unused.length > 0) explanation.push(`Not used: ${unused.map(q).join(', ')}.`);
  if (keys.length === 0) explanation.push('No identifier column found: give --rules.');
  return { keys, rules, recordKey, explanation };
}

/** The role of one column: its header, confirmed by its values, or its values alone. */
function roleOf(
  header: string,
  rows: readonly Row[],
  options: InferOptions,
  explanation: string[],
): ColumnRole | undefined {
  const values = rows.map((row) => row[header]?.trim() ?? '').filter((v) => v !== '');
  const share = (fits: (value: string) => boolean) =>
    values.length < MIN_VALUES ? undefined : values.filter(fits).length / values.length;
  const isPhone = (v: string) => normalizePhone(v, options.defaultCountry) !== undefined;
  const isDate = (v: string) => normalizeDateKey(v) !== undefined;
  const checks: Partial<Record<ColumnRole, (value: string) => boolean>> = {
    email: isValidEmail,
    phone: isPhone,
    dob: isDate,
  };

  const named = roleFromHeader(header);
  if (named) {
    const check = checks[named];
    const fit = check && share(check);
    if (fit === undefined || fit >= VALUES_CONFIRM) return named;
    explanation.push(`${q(header)}: named like ${named}, but only ${pct(fit)} of its values fit.`);
    return undefined;
  }

  const emails = share(isValidEmail);
  if (emails !== undefined && emails > VALUES_DECIDE) {
    explanation.push(`${q(header)} holds emails (${pct(emails)} of its values).`);
    return 'email';
  }
  const phones = share(isPhone);
  if (phones !== undefined && phones > VALUES_DECIDE) {
    explanation.push(`${q(header)} holds phone numbers (${pct(phones)} of its values).`);
    return 'phone';
  }
  const dates = share(isDate);
  if (dates !== undefined && dates > VALUES_DECIDE) {
    // A date column is a birth date only if its name says so: order or signup dates are not.
    if (headerMentionsBirth(header)) return 'dob';
    explanation.push(`${q(header)} holds dates, but its name does not say birth date: not used.`);
  }
  return undefined;
}

/** Digits when the sample ids are digits once spaces and dashes go, text otherwise. */
function idNormalizer(column: string, rows: readonly Row[]): MatchKey['normalize'] {
  const values = rows.map((row) => row[column]?.trim() ?? '').filter((v) => v !== '');
  const digits = values.filter((v) => /^[\d\s.-]+$/.test(v)).length;
  return values.length > 0 && digits / values.length > VALUES_DECIDE ? 'digits' : 'text';
}

function idKey(names: KeyNames, column: string, normalize: MatchKey['normalize']): MatchKey {
  return { ...key(names.take(canonicalHeader(column) || 'id'), [column], normalize), maxValues: 1 };
}

function key(name: string, columns: string[], normalize: MatchKey['normalize']): MatchKey {
  return { name, columns, normalize, providerRules: false, stripAccents: true, blocked: [] };
}

/** Hands out key names that are valid config identifiers and unique. */
class KeyNames {
  private readonly used = new Set<string>();

  take(wanted: string): string {
    const base = /^[A-Za-z]/.test(wanted) ? wanted : `key_${wanted}`;
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}_${n}`;
    this.used.add(name);
    return name;
  }
}

function describeKey(k: MatchKey): string {
  const columns = k.columns.map(q).join(' + ');
  const limit = k.maxValues === 1 ? ', one value per person' : '';
  return `Key ${k.name}: ${columns}, normalized as ${k.normalize}${limit}.`;
}

const q = (column: string) => JSON.stringify(column);
const pct = (share: number) => `${Math.round(share * 100)}%`;

/**
 * The inferred keys and rules in the config's own YAML syntax, to paste under a dataset:
 * defaults are left out, lists of names are written inline, and the explanation comes first as
 * comments.
 */
export function rulesToYaml(
  inferred: Pick<InferredRules, 'keys' | 'rules' | 'explanation'>,
): string {
  const keys = inferred.keys.map((k) => ({
    name: k.name,
    columns: k.columns,
    ...(k.normalize === 'text' ? {} : { normalize: k.normalize }),
    ...(k.providerRules ? { providerRules: true } : {}),
    ...(k.stripAccents ? {} : { stripAccents: false }),
    ...(k.maxValues === undefined ? {} : { maxValues: k.maxValues }),
    ...(k.blocked.length > 0 ? { blocked: k.blocked } : {}),
  }));
  const doc = new Document({ keys, rules: inferred.rules });
  visit(doc, {
    Seq(_, seq) {
      if (isSeq(seq) && seq.items.every((item) => isScalar(item))) seq.flow = true;
    },
  });
  doc.commentBefore = inferred.explanation.map((line) => ` ${line}`).join('\n');
  return doc.toString({ lineWidth: 100 });
}
