/**
 * Values that must never link two records: placeholders people type when a form insists, the
 * user's own blocked values, and role mailboxes shared by several people. Pure: no I/O.
 */
import type { MatchKey } from '../../config/schema';
import { KEY_PART_SEPARATOR, isPlaceholderDigits, keyNormalizer } from './normalizers';

/** How one normalized key value may be used: to link records, or never (and why). */
export type KeyValueClass = 'link' | 'blocked' | 'role';

/** Tests a normalized key value against the blocked entries it was compiled from. */
export type BlockedMatcher = (normalizedValue: string) => boolean;

/**
 * Built-in placeholder words, compared after text normalization (lower case, no accents). The
 * French ones are there because French forms are a first-class input.
 */
export const DEFAULT_BLOCKED_VALUES: readonly string[] = [
  '',
  'null',
  'nil',
  'none',
  'nan',
  'na',
  'n/a',
  'n.a.',
  'n.a',
  '-',
  '--',
  '?',
  '.',
  '-1',
  '0',
  'unknown',
  'anonymous',
  'undefined',
  'test',
  'xxx',
  'asdf',
  'qwerty',
  'noemail',
  'no email',
  'nomail',
  'no-email',
  'inconnu',
  'anonyme',
  'aucun',
  'aucune',
  'neant',
  // Dates that systems store when the real one is missing: the first day of 1900 and Unix time 0.
  '1900-01-01',
  '1970-01-01',
];

// Local parts and first domain labels that mark a made-up address: `test@…`, `…@none.com`. Not
// "example": example.com and example.org are reserved for documentation, yet test data and demo
// files use them for real-looking people, and a dataset of such rows must still merge.
const PLACEHOLDER_EMAIL_WORDS = new Set([
  'test',
  'none',
  'null',
  'nil',
  'na',
  'n/a',
  'unknown',
  'anonymous',
  'noemail',
  'no-email',
  'no_email',
  'nomail',
  'no',
  'nobody',
  'fake',
  'dummy',
  'asdf',
  'qwerty',
  'xxx',
  'aucun',
  'inconnu',
  'pasdemail',
  'pas-de-mail',
  'sansmail',
]);

// RFC 2606 reserves these top-level domains: no mailbox can exist there.
const RESERVED_TLDS = new Set(['invalid', 'localhost', 'test']);

const DEFAULT_BLOCKED_SET = new Set(DEFAULT_BLOCKED_VALUES);

/**
 * True when a normalized value is a built-in placeholder: a placeholder word, all zeros, one
 * character typed three or more times (`xxx`, `...`), a digit run such as `123456`, or for email
 * keys an address whose local part or domain is made up (`test@gmail.com`, `jane@none.com`).
 */
export function isDefaultBlocked(normalizedValue: string, isEmailKey: boolean): boolean {
  const value = normalizedValue.trim().toLowerCase();
  if (DEFAULT_BLOCKED_SET.has(value) || /^(.)\1{2,}$/su.test(value)) return true;
  const digits = value.replace(/^\+/, '');
  if (isPlaceholderDigits(digits)) return true;
  return isEmailKey && isPlaceholderEmail(value);
}

function isPlaceholderEmail(email: string): boolean {
  const at = email.lastIndexOf('@');
  if (at < 0) return false;
  const local = email.slice(0, at).replace(/\+.*$/, '');
  const labels = email.slice(at + 1).split('.');
  if (PLACEHOLDER_EMAIL_WORDS.has(local) || /^(.)\1{2,}$/su.test(local)) return true;
  // `none.com` or `test.fr`, but not `test.bistro.fr`, where "test" may be a real host name.
  if (labels.length === 2 && PLACEHOLDER_EMAIL_WORDS.has(labels[0]!)) return true;
  return RESERVED_TLDS.has(labels[labels.length - 1]!);
}

/** Thrown for a `/regex/flags` blocked entry that does not compile; names the entry. */
export class BlockedPatternError extends Error {
  readonly entry: string;

  constructor(entry: string, cause: unknown) {
    super(`blocked value ${JSON.stringify(entry)} is not a valid regular expression`, { cause });
    this.name = 'BlockedPatternError';
    this.entry = entry;
  }
}

const REGEX_ENTRY = /^\/(.+)\/([a-z]*)$/s;

/** The regular expression of a `/…/flags` entry, undefined for an exact value. */
export function parseBlockedPattern(entry: string): RegExp | undefined {
  const match = REGEX_ENTRY.exec(entry);
  if (!match) return undefined;
  try {
    return new RegExp(match[1]!, match[2]);
  } catch (error) {
    throw new BlockedPatternError(entry, error);
  }
}

/**
 * Compiles user blocked entries into a matcher. An entry written `/…/flags` is a regular
 * expression tested against the normalized value; anything else is an exact value, normalized
 * with `normalize` (the key's own normalizer) so `Test@Example.COM` blocks `test@example.com`.
 * For a compound key value, each part is tested too, so an entry blocks a part on its own.
 * Throws {@link BlockedPatternError} for a regular expression that does not compile.
 */
export function compileBlocked(
  patterns: readonly string[],
  normalize: (raw: string) => string | undefined = (raw) => raw.trim().toLowerCase(),
): BlockedMatcher {
  const exact = new Set<string>();
  const regexes: RegExp[] = [];
  for (const entry of patterns) {
    const regex = parseBlockedPattern(entry);
    if (regex) regexes.push(regex);
    else exact.add(normalize(entry) ?? entry.trim().toLowerCase());
  }
  if (exact.size === 0 && regexes.length === 0) return () => false;

  const test = (value: string): boolean =>
    exact.has(value) ||
    regexes.some((regex) => {
      // A g or y flag makes test() resume from lastIndex; every value starts afresh.
      regex.lastIndex = 0;
      return regex.test(value);
    });
  const inParts = (value: string) =>
    value.includes(KEY_PART_SEPARATOR) && partsOf(value).some(test);
  return (value) => test(value) || inParts(value);
}

function partsOf(value: string): string[] {
  return value.split(KEY_PART_SEPARATOR);
}

/**
 * One matcher per key, by key name, from the dataset's `blockedValues` and the key's own
 * `blocked` entries, each normalized with that key's normalizer.
 */
export function compileKeyBlocked(
  keys: readonly MatchKey[],
  datasetBlocked: readonly string[],
  defaultCountry?: string,
): Record<string, BlockedMatcher> {
  const byKey: Record<string, BlockedMatcher> = {};
  for (const key of keys) {
    const normalize = keyNormalizer(key, defaultCountry);
    byKey[key.name] = compileBlocked([...datasetBlocked, ...key.blocked], normalize);
  }
  return byKey;
}

const roleSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function roleSet(roleLocalParts: readonly string[]): ReadonlySet<string> {
  let set = roleSets.get(roleLocalParts);
  if (!set) {
    set = new Set(roleLocalParts.map((role) => role.trim().toLowerCase()));
    roleSets.set(roleLocalParts, set);
  }
  return set;
}

/**
 * True when the local part of a normalized email is exactly a role name (`contact@…`), also with
 * a `+tag` (`contact+fr@…`). Such mailboxes are shared, so they never merge two people.
 */
export function isRoleEmail(normalizedEmail: string, roleLocalParts: readonly string[]): boolean {
  const at = normalizedEmail.lastIndexOf('@');
  if (at <= 0) return false;
  const local = normalizedEmail.slice(0, at).toLowerCase().replace(/\+.*$/, '');
  return roleSet(roleLocalParts).has(local);
}

/** Options of {@link classifyKeyValue}. */
export interface ClassifyOptions {
  /** The user's blocked entries: one matcher, or one per key name (see compileKeyBlocked). */
  blocked?: BlockedMatcher | Readonly<Record<string, BlockedMatcher>>;
  /** Role local parts, e.g. the dataset's `roleEmails`. */
  roleEmails: readonly string[];
  /** The key normalizes emails: check placeholder addresses and role mailboxes. */
  isEmailKey: boolean;
}

/**
 * Whether a normalized key value may link records. `blocked` wins over `role`: built-in
 * placeholders (in any part of a compound value) and the user's blocked entries are checked
 * first, then role mailboxes for email keys. Called once per key value, so the role list is
 * turned into a set once per array.
 */
export function classifyKeyValue(
  keyName: string,
  normalizedValue: string,
  options: ClassifyOptions,
): KeyValueClass {
  const parts = partsOf(normalizedValue);
  if (parts.some((part) => isDefaultBlocked(part, options.isEmailKey))) return 'blocked';

  const matcher =
    typeof options.blocked === 'function' ? options.blocked : options.blocked?.[keyName];
  if (matcher?.(normalizedValue)) return 'blocked';

  if (options.isEmailKey && isRoleEmail(normalizedValue, options.roleEmails)) return 'role';
  return 'link';
}
