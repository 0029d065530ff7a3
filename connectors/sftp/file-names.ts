import { ConfigError } from '../errors';

/**
 * Names an uploader gives a file while it is still writing it (BL-06: SFTP has no "upload
 * complete" signal, so senders upload under a temporary name and rename at the end). These never
 * match a source, whatever its pattern says.
 */
const TEMPORARY_NAME = /^\.|\.(part|tmp|filepart)$/i;

// Each token becomes a fixed-width digit group; the order of tokens is free.
const DATE_TOKENS: Record<string, { group: string; digits: number }> = {
  YYYY: { group: 'year', digits: 4 },
  MM: { group: 'month', digits: 2 },
  DD: { group: 'day', digits: 2 },
  HH: { group: 'hour', digits: 2 },
  mm: { group: 'minute', digits: 2 },
  ss: { group: 'second', digits: 2 },
};

/** How file names are chosen: a whole-name regular expression, or prefix + date + suffix. */
export type FileNameRule =
  { pattern: RegExp } | { prefix: string; datePattern: string; suffix: string };

/** Decides which names belong to a source and reads the date a dated name carries. */
export interface FileNameMatcher {
  /** True for names of the source; temporary upload names are always false. */
  matches(name: string): boolean;
  /** The name's date as ISO 8601 (`2026-03-02` or `2026-03-02T09:30:00Z`); undefined if none. */
  dateOf(name: string): string | undefined;
}

/** True for names uploaders use before the final rename (`.part`, `.tmp`, `.filepart`, `.x`). */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/**
 * Builds the matcher for a rule. A dated name only matches when its date is a real one
 * (`contacts_20260230.csv` does not), so a typo in a drop is left alone rather than misordered.
 */
export function fileNameMatcher(rule: FileNameRule): FileNameMatcher {
  if ('pattern' in rule) {
    // A global or sticky RegExp keeps state between test() calls and would skip every other match.
    const pattern = new RegExp(rule.pattern.source, rule.pattern.flags.replace(/[gy]/g, ''));
    return {
      matches: (name) => !isTemporaryName(name) && pattern.test(name),
      dateOf: () => undefined,
    };
  }
  const regex = datedNameRegex(rule);
  const dateOf = (name: string): string | undefined => {
    if (isTemporaryName(name)) return undefined;
    const groups = regex.exec(name)?.groups;
    return groups === undefined ? undefined : isoDate(groups);
  };
  return { matches: (name) => dateOf(name) !== undefined, dateOf };
}

function datedNameRegex(rule: { prefix: string; datePattern: string; suffix: string }): RegExp {
  let body = '';
  const seen = new Set<string>();
  for (let rest = rule.datePattern; rest.length > 0;) {
    const token = Object.keys(DATE_TOKENS).find((t) => rest.startsWith(t));
    if (token !== undefined) {
      const { group, digits } = DATE_TOKENS[token]!;
      if (seen.has(token)) throw new ConfigError(`datePattern repeats ${token}`);
      seen.add(token);
      body += `(?<${group}>\\d{${digits}})`;
      rest = rest.slice(token.length);
    } else {
      body += escapeRegExp(rest[0]!);
      rest = rest.slice(1);
    }
  }
  if (!seen.has('YYYY')) throw new ConfigError('datePattern needs YYYY');
  return new RegExp(`^${escapeRegExp(rule.prefix)}${body}${escapeRegExp(rule.suffix)}$`);
}

function isoDate(groups: Record<string, string | undefined>): string | undefined {
  const part = (name: string, fallback: number): number => Number(groups[name] ?? fallback);
  const [year, month, day] = [part('year', 0), part('month', 1), part('day', 1)];
  const [hour, minute, second] = [part('hour', 0), part('minute', 0), part('second', 0)];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 30 February over into March; a real date survives the round trip.
  const real =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second;
  if (!real) return undefined;
  const iso = back.toISOString();
  const timed = groups.hour !== undefined || groups.minute !== undefined;
  return timed ? iso.replace('.000Z', 'Z') : iso.slice(0, 10);
}

/**
 * Import order: dated names by date, then by name; other names by name (code-unit order), so a
 * day's file is never imported before the previous day's.
 */
export function compareForImport(
  a: { name: string; fileDate?: string },
  b: { name: string; fileDate?: string },
): number {
  const [da, db] = [a.fileDate ?? '', b.fileDate ?? ''];
  if (da !== db) return da < db ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The name settings of a source as the config gives them. */
export interface FileNameSettings {
  pattern?: string;
  prefix?: string;
  datePattern?: string;
  suffix?: string;
}

/** The matcher for a source's settings: `prefix` + `datePattern` + `suffix`, else `pattern`. */
export function matcherFor(settings: FileNameSettings): FileNameMatcher {
  if (settings.datePattern !== undefined) {
    const { prefix = '', datePattern, suffix = '' } = settings;
    return fileNameMatcher({ prefix, datePattern, suffix });
  }
  if (settings.pattern === undefined)
    throw new ConfigError('give pattern, or prefix and datePattern');
  return fileNameMatcher({ pattern: new RegExp(settings.pattern) });
}
