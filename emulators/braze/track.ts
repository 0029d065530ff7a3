import { MAX_OBJECTS_PER_ARRAY } from './limits';
import { isPlainObject, type ProfileStore } from './store';

/** One per-object error, in Braze's observed `{type, input_array, index}` shape. */
export type ItemError = { type: string; input_array: TrackArray; index: number };

/** What `/users/track` answers for a parsed body, and what it did to the store. */
export type TrackOutcome = {
  status: number;
  body: Record<string, unknown>;
  /** Attribute objects Braze looked at one by one (0 when the request was refused whole). */
  attributesExamined: number;
  dataPoints: number;
};

type TrackArray = 'attributes' | 'events' | 'purchases';

const ARRAYS: readonly TrackArray[] = ['attributes', 'events', 'purchases'];

// Wording from Braze responses quoted by open-source clients (see braze-api.md §1.7).
const NO_VALID_DATA =
  "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.";
const IDENTIFIER_REQUIRED =
  "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required";
const INVALID_EMAIL = "The value provided for the 'email' field is not a valid email.";
const INVALID_EXTERNAL_ID = "The value provided for the 'external_id' field is not a valid string.";
const INVALID_ALIAS = "'user_alias' must be an object with 'alias_name' and 'alias_label'";
const NOT_AN_OBJECT = 'Each object in the array must be a JSON object';

// Deliberately loose: Braze's exact rule is unpublished, and this only has to catch obvious junk.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const REQUIRED_FIELDS: Record<TrackArray, readonly string[]> = {
  attributes: [],
  events: ['name', 'time'],
  purchases: ['product_id', 'currency', 'price', 'time'],
};

/**
 * Handles a parsed `/users/track` body: request-level checks (shape, 75 per array), then per
 * object validation, then applies the valid attribute objects in order. Events and purchases
 * are validated and counted in `*_processed` only.
 */
export function handleTrack(parsed: unknown, store: ProfileStore): TrackOutcome {
  const refused = (message: string): TrackOutcome => ({
    status: 400,
    body: { message },
    attributesExamined: 0,
    dataPoints: 0,
  });
  if (!isPlainObject(parsed)) return refused('Request body must be a JSON object');
  for (const name of ARRAYS) {
    const value = parsed[name];
    if (value !== undefined && !Array.isArray(value)) return refused(`'${name}' must be an array`);
    if (Array.isArray(value) && value.length > MAX_OBJECTS_PER_ARRAY) {
      return refused(
        `Max Input Length Exceeded: '${name}' has ${value.length} objects; ` +
          `the limit is ${MAX_OBJECTS_PER_ARRAY}`,
      );
    }
  }

  const errors: ItemError[] = [];
  const validByArray = new Map<TrackArray, Array<Record<string, unknown>>>();
  for (const name of ARRAYS) {
    const items = parsed[name];
    if (!Array.isArray(items)) continue;
    const valid: Array<Record<string, unknown>> = [];
    items.forEach((item: unknown, index) => {
      const reason = validateItem(item, REQUIRED_FIELDS[name]);
      if (reason === undefined) valid.push(item as Record<string, unknown>);
      else errors.push({ type: reason, input_array: name, index });
    });
    validByArray.set(name, valid);
  }

  const attributes = (parsed.attributes as unknown[] | undefined) ?? [];
  const validCount = [...validByArray.values()].reduce((sum, list) => sum + list.length, 0);
  if (validCount === 0) {
    const body: Record<string, unknown> = { message: NO_VALID_DATA };
    if (errors.length > 0) body.errors = errors;
    return { status: 400, body, attributesExamined: attributes.length, dataPoints: 0 };
  }

  let dataPoints = 0;
  // Braze processes attributes before events and purchases; only attributes touch profiles.
  for (const item of validByArray.get('attributes') ?? []) dataPoints += store.apply(item);

  const body: Record<string, unknown> = { message: 'success' };
  for (const [name, valid] of validByArray) body[`${name}_processed`] = valid.length;
  if (errors.length > 0) body.errors = errors;
  return { status: 201, body, attributesExamined: attributes.length, dataPoints };
}

/** Returns why an object is invalid, or undefined when it can be processed. */
function validateItem(item: unknown, required: readonly string[]): string | undefined {
  if (!isPlainObject(item)) return NOT_AN_OBJECT;
  const hasIdentifier = ['external_id', 'user_alias', 'braze_id', 'email', 'phone'].some(
    (key) => item[key] !== undefined && item[key] !== null,
  );
  if (!hasIdentifier) return IDENTIFIER_REQUIRED;
  if (item.external_id !== undefined && !isNonEmptyString(item.external_id)) {
    return INVALID_EXTERNAL_ID;
  }
  if (item.user_alias !== undefined && !isAlias(item.user_alias)) return INVALID_ALIAS;
  if (item.email !== undefined && item.email !== null) {
    if (typeof item.email !== 'string' || !EMAIL_PATTERN.test(item.email)) return INVALID_EMAIL;
  }
  const missing = required.find((field) => item[field] === undefined || item[field] === null);
  return missing === undefined ? undefined : `'${missing}' is required`;
}

/** External ids carried by the attribute objects of a body, for the request log. */
export function externalIdsOf(parsed: unknown): string[] {
  if (!isPlainObject(parsed) || !Array.isArray(parsed.attributes)) return [];
  return parsed.attributes
    .map((item: unknown) => (isPlainObject(item) ? item.external_id : undefined))
    .filter((id): id is string => typeof id === 'string');
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isAlias(value: unknown): boolean {
  return (
    isPlainObject(value) &&
    isNonEmptyString(value.alias_name) &&
    isNonEmptyString(value.alias_label)
  );
}
