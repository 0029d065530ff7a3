import { MAX_OBJECTS_PER_ARRAY, MAX_PROPERTY_NAME_LENGTH, MAX_PURCHASE_QUANTITY } from './limits';
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
  /** Custom events and purchases stored on profiles. */
  eventsRecorded: number;
  purchasesRecorded: number;
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

// ISO 4217 alphabetic codes; Braze refuses a purchase in anything else.
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
const RESERVED_PROPERTIES: ReadonlySet<string> = new Set(['time', 'event_name']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

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
    eventsRecorded: 0,
    purchasesRecorded: 0,
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
      const reason = validateItem(item, REQUIRED_FIELDS[name]) ?? validateActivity(name, item);
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
    const examined = attributes.length;
    return { ...refused(NO_VALID_DATA), body, attributesExamined: examined };
  }

  let dataPoints = 0;
  // Braze processes attributes, then events, then purchases (api_limits, "Batching").
  for (const item of validByArray.get('attributes') ?? []) dataPoints += store.apply(item);
  let eventsRecorded = 0;
  for (const item of validByArray.get('events') ?? []) {
    if (store.record('events', item)) eventsRecorded += 1;
  }
  let purchasesRecorded = 0;
  for (const item of validByArray.get('purchases') ?? []) {
    if (store.record('purchases', item)) purchasesRecorded += 1;
  }

  const body: Record<string, unknown> = { message: 'success' };
  for (const [name, valid] of validByArray) body[`${name}_processed`] = valid.length;
  if (errors.length > 0) body.errors = errors;
  return {
    status: 201,
    body,
    attributesExamined: attributes.length,
    dataPoints,
    eventsRecorded,
    purchasesRecorded,
  };
}

/**
 * Checks an event or purchase object beyond its required fields, as the event and purchase
 * object pages describe them: ISO 8601 time, product id, property names and string property
 * values of at most 255 characters, an ISO 4217 currency, a numeric price, a quantity 1..100.
 */
function validateActivity(array: TrackArray, item: unknown): string | undefined {
  if (array === 'attributes' || !isPlainObject(item)) return undefined;
  const time = typeof item.time === 'string' ? item.time : '';
  if (!ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) {
    return "'time' must be an ISO 8601 date-time";
  }
  if (array === 'events' && !isNonEmptyString(item.name))
    return "'name' must be a non-empty string";
  if (array === 'purchases') {
    if (!isNonEmptyString(item.product_id) || item.product_id.length > MAX_PROPERTY_NAME_LENGTH) {
      return "'product_id' must be a string of 1 to 255 characters";
    }
    if (typeof item.currency !== 'string' || !CURRENCIES.has(item.currency.toUpperCase())) {
      return "'currency' must be an ISO 4217 currency code";
    }
    if (typeof item.price !== 'number' || !Number.isFinite(item.price)) {
      return "'price' must be a number";
    }
    const quantity = item.quantity;
    const inRange =
      typeof quantity === 'number' && quantity >= 1 && quantity <= MAX_PURCHASE_QUANTITY;
    if (quantity !== undefined && !(Number.isInteger(quantity) && inRange)) {
      return `'quantity' must be an integer from 1 to ${MAX_PURCHASE_QUANTITY}`;
    }
  }
  if (item.properties === undefined) return undefined;
  if (!isPlainObject(item.properties)) return "'properties' must be an object";
  for (const [name, value] of Object.entries(item.properties)) {
    const badName = name === '' || name.startsWith('$') || RESERVED_PROPERTIES.has(name);
    if (badName || name.length > MAX_PROPERTY_NAME_LENGTH) {
      return `property name '${name}' is not allowed`;
    }
    if (typeof value === 'string' && value.length > MAX_PROPERTY_NAME_LENGTH) {
      return `property '${name}' is longer than ${MAX_PROPERTY_NAME_LENGTH} characters`;
    }
  }
  return undefined;
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
