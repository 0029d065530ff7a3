/**
 * Normalizers for identity match keys. Pure functions: no I/O. Each returns the canonical form
 * two records must share to link, or undefined when the value is blank or unusable. Placeholder
 * values ("test", "n/a", ...) are not filtered here but by classifyKeyValue in ./blocked, so the
 * caller can count them; phone numbers are the exception, see normalizePhone.
 */
// The "max" metadata validates a number against each country's numbering plan (the digit
// patterns of assigned ranges). The default "min" metadata only checks the length, so it would
// accept numbers in ranges that no operator has, such as +33 0… or +1 555 01… test numbers.
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

import type { MatchKey } from '../../config/schema';
import { isValidEmail, normalizeDate } from '../normalize';

/** Separates the parts of a compound key value; normalized text never contains it. */
export const KEY_PART_SEPARATOR = '\u001f';

/** True when `country` (ISO 3166 alpha-2) is one that phone numbers can be read for. */
export function isSupportedPhoneCountry(country: string): boolean {
  return isSupportedCountry(country.toUpperCase());
}

/**
 * E.164 form (`+33612345678`) of a phone number, or undefined when it is not a valid number.
 * A number written without `+` or `00` is read as a number of `defaultCountry` (ISO 3166
 * alpha-2); without one, only international numbers are read. Placeholders are rejected too:
 * a national number whose digits are all the same (`+33 1 11 11 11 11`, `0000000000`) or form a
 * run such as `123456789` or `987654321`. A real pattern such as `+33 6 11 11 11 11` is kept.
 * Throws when `defaultCountry` is not a country code libphonenumber knows.
 */
export function normalizePhone(raw: string, defaultCountry?: string): string | undefined {
  let text = raw.trim();
  if (text === '') return undefined;
  // 00 is the international prefix almost everywhere, and no national number starts with it,
  // so "0033 6…" means "+33 6…" whatever the default country.
  text = text.replace(/^\(?00\)?\s*(?=[1-9])/, '+');
  const country = defaultCountry?.toUpperCase();
  if (country !== undefined && !isSupportedCountry(country)) {
    throw new RangeError(`unknown default country "${defaultCountry}" for phone numbers`);
  }

  const parsed = country
    ? parsePhoneNumberFromString(text, country)
    : text.startsWith('+')
      ? parsePhoneNumberFromString(text)
      : undefined;
  if (!parsed || !parsed.isValid()) return undefined;
  return isPlaceholderDigits(parsed.nationalNumber) ? undefined : parsed.number;
}

/**
 * True for digits someone types when a form insists: all zeros, three or more digits all the
 * same (`111`, `9999999`), or a run of six or more consecutive digits up or down (`123456`,
 * `9876543210`; 9 wraps to 0 and back). `11` stays usable: small systems number records so.
 */
export function isPlaceholderDigits(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  if (/^0+$/.test(digits) || /^(\d)\1{2,}$/.test(digits)) return true;
  return isDigitRun(digits, 1) || isDigitRun(digits, 9);
}

function isDigitRun(digits: string, step: number): boolean {
  for (let i = 1; i < digits.length; i++) {
    if ((Number(digits[i - 1]) + step) % 10 !== Number(digits[i])) return false;
  }
  return digits.length >= 6;
}

/**
 * Providers that document `+tag` sub-addressing: mail to `jane+news@` lands in `jane@`. Google
 * also ignores dots in the local part. The list is closed on purpose: elsewhere `+` may be a
 * literal character of a distinct mailbox (it is legal in RFC 5322), and Yahoo uses `-` for its
 * disposable addresses, so dropping anything there could merge two people.
 */
const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);
const PLUS_TAG_DOMAINS = new Set([
  ...GMAIL_DOMAINS,
  'outlook.com',
  'outlook.fr',
  'hotmail.com',
  'hotmail.fr',
  'hotmail.co.uk',
  'live.com',
  'live.fr',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'fastmail.com',
  'fastmail.fm',
  'proton.me',
  'protonmail.com',
  'protonmail.ch',
  'pm.me',
]);

/** Options of {@link normalizeEmailKey}. */
export interface EmailKeyOptions {
  /** Apply provider rules: Gmail ignores dots and `+tags`, other known providers `+tags`. */
  providerRules?: boolean;
}

/**
 * Canonical email for matching: trimmed and lower-cased; undefined unless `isValidEmail`.
 * With `providerRules`, `Jane.Doe+news@googlemail.com` becomes `janedoe@gmail.com`, and a
 * `+tag` is dropped at the providers listed in PLUS_TAG_DOMAINS (Outlook/Hotmail/Live, iCloud,
 * Fastmail, Proton). Placeholders such as `test@test.com` are left to classifyKeyValue.
 */
export function normalizeEmailKey(raw: string, options: EmailKeyOptions = {}): string | undefined {
  const email = raw.trim().toLowerCase();
  if (!isValidEmail(email)) return undefined;
  if (!options.providerRules) return email;

  const at = email.lastIndexOf('@');
  let local = email.slice(0, at);
  let domain = email.slice(at + 1);
  if (PLUS_TAG_DOMAINS.has(domain)) local = local.replace(/\+.*$/, '');
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.replace(/\./g, '');
    domain = 'gmail.com';
  }
  return local === '' ? undefined : `${local}@${domain}`;
}

/** Options of {@link normalizeTextKey}. */
export interface TextKeyOptions {
  /** Drop accents and marks ("Léa" = "Lea", "Łukasz" = "Lukasz"); on unless false. */
  stripAccents?: boolean;
}

// Latin letters that carry a stroke or are ligatures: NFKD leaves them whole, yet people write
// "Lukasz" for "Łukasz", "Soren" for "Søren" and "Oeuvray" for "Œuvray".
const UNDECOMPOSED: Record<string, string> = {
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ħ: 'h',
  ı: 'i',
  ŧ: 't',
  æ: 'ae',
  œ: 'oe',
  þ: 'th',
  ð: 'd',
};

/**
 * Text for matching: trimmed, case-folded (`ß` = `ss`), inner spaces collapsed, control
 * characters read as spaces (so the compound-key separator never occurs in a value), and
 * accents stripped unless `stripAccents` is false. Blank → undefined.
 */
export function normalizeTextKey(raw: string, options: TextKeyOptions = {}): string | undefined {
  const stripAccents = options.stripAccents ?? true;
  // Upper then lower case folds ς → Σ → σ and ß → SS → ss; the capital ẞ only lowers to ß.
  let text = raw
    .normalize(stripAccents ? 'NFKD' : 'NFKC')
    .toUpperCase()
    .toLowerCase();
  text = text.replace(/ß/g, 'ss');
  if (stripAccents) {
    text = text.replace(/\p{M}+/gu, '').replace(/[łøđħıŧæœþð]/g, (c) => UNDECOMPOSED[c] ?? c);
  }
  text = text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
  return text === '' ? undefined : text;
}

/**
 * ISO date (`YYYY-MM-DD`) from ISO, `YYYYMMDD` or `DD/MM/YYYY` text; anything else → undefined.
 */
export function normalizeDateKey(raw: string): string | undefined {
  return normalizeDate(raw);
}

/** The digits of a value, everything else dropped (`AB-12 34` → `1234`); none → undefined. */
export function normalizeDigitsKey(raw: string): string | undefined {
  const digits = raw.replace(/\D+/g, '');
  return digits === '' ? undefined : digits;
}

/** The normalizer of one match key, with the key's own options applied. */
export function keyNormalizer(
  key: Pick<MatchKey, 'normalize'> & Partial<Pick<MatchKey, 'providerRules' | 'stripAccents'>>,
  defaultCountry?: string,
): (raw: string) => string | undefined {
  switch (key.normalize) {
    case 'email':
      return (raw) => normalizeEmailKey(raw, { providerRules: key.providerRules });
    case 'phone':
      return (raw) => normalizePhone(raw, defaultCountry);
    case 'text':
      return (raw) => normalizeTextKey(raw, { stripAccents: key.stripAccents });
    case 'date':
      return normalizeDateKey;
    case 'digits':
      return normalizeDigitsKey;
  }
}
