import type { BrazeAttribute } from '../config/schema';
import type { AttributeValue } from './diff';
import { isBlank, normalizeDate, parseDecimal } from './normalize';

export type TypedAttributes =
  { ok: true; attributes: Record<string, AttributeValue> } | { ok: false; reason: string };

/**
 * Maps a golden record to destination attributes: `mapping` is attribute name → golden field.
 * Declared attributes are converted to their type; a blank becomes null (unset). A record
 * missing an attribute declared `requiredForSync` is not sent, and the reason says which.
 */
export function toDestinationAttributes(
  golden: Record<string, string>,
  mapping: Record<string, string>,
  declared: readonly BrazeAttribute[],
): TypedAttributes {
  const types = new Map(declared.map((a) => [a.name, a]));
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, field] of Object.entries(mapping)) {
    const raw = golden[field];
    const spec = types.get(name);
    const value =
      raw === undefined || isBlank(raw) ? null : convert(raw.trim(), spec?.type ?? 'string');
    if (value === undefined)
      return { ok: false, reason: `${name}: "${raw}" is not a ${spec?.type}` };
    if (value === null && spec?.requiredForSync) {
      return { ok: false, reason: `${name}: required for sync but empty` };
    }
    attributes[name] = value;
  }
  return { ok: true, attributes };
}

function convert(raw: string, type: BrazeAttribute['type']): AttributeValue | undefined {
  switch (type) {
    case 'string':
      return raw;
    case 'number':
      return parseDecimal(raw);
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (['true', '1', 'yes', 'y'].includes(lower)) return true;
      if (['false', '0', 'no', 'n'].includes(lower)) return false;
      return undefined;
    }
    case 'date':
      // Only the formats normalizeDate reads: Date.parse guesses at anything else ("7" became
      // 2001-07-01, 2015-02-30 rolled over to 2015-03-02, 12/31/2020 was read as US local time).
      return normalizeDate(raw);
    case 'array':
      // A `union` survivorship column is a JSON array; other text is a delimited list.
      if (raw.startsWith('[')) {
        try {
          const parsed: unknown = JSON.parse(raw);
          if (Array.isArray(parsed)) return parsed.map(String);
        } catch {
          // Not JSON after all: fall through to the delimited reading.
        }
      }
      return raw.split(/\s*[,;|]\s*/).filter((v) => v !== '');
  }
}
