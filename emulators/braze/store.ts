import { CONTROL_KEYS, MAX_ARRAY_LENGTH, NON_BILLABLE_KEYS, STANDARD_FIELDS } from './limits';

/** A profile as the emulator stores it: identifier fields plus every attribute set. */
export type Profile = Record<string, unknown>;

/** Braze's per-profile summary of one custom event name or one purchased product id. */
export type ActivitySummary = { name: string; first: string; last: string; count: number };

type Activity = Map<string, { first: string; last: string; count: number }>;

type Stored = {
  attributes: Profile;
  updatedSeq: number;
  events: Activity;
  purchases: Activity;
  /** External ids this profile had before renames; they still name it, as in Braze. */
  deprecatedIds: string[];
};

/** Why `rename` refused a pair, in Braze's wording where its docs quote one. */
export type RenameRefusal =
  | 'current_external_id and new_external_id cannot be the same'
  | 'current_external_id is not the primary external_id of a user'
  | 'new_external_id is already in use';

const IDENTIFIER_KEYS: ReadonlySet<string> = new Set(['external_id', 'user_alias', 'braze_id']);

/**
 * In-memory Braze profiles with `/users/track` attribute semantics and a data-point counter.
 * Profiles are keyed by `external_id`, or by email for profiles created from email-only
 * objects. Objects are assumed valid (see track.ts); values are stored as sent.
 */
export class ProfileStore {
  private readonly byExternalId = new Map<string, Stored>();
  private readonly byEmail = new Map<string, Stored>();
  /** Deprecated external id → the profile it names since a rename. */
  private readonly byDeprecatedId = new Map<string, Stored>();
  // A sequence rather than the clock, so "most recently updated" is exact within a millisecond.
  private seq = 0;

  /** Applies one valid attributes object and returns the data points it consumed. */
  apply(item: Record<string, unknown>): number {
    const target = this.findOrCreate(item);
    if (target === undefined) return 0;

    const merge = item._merge_objects === true;
    // The key that selected the profile is already on it and is not an attribute write; email
    // and phone are attributes only when an external id identifies the object.
    const lookupKey = typeof item.external_id === 'string' ? 'external_id' : identifiedBy(item);
    let dataPoints = 0;
    for (const [key, value] of Object.entries(item)) {
      if (CONTROL_KEYS.has(key) || IDENTIFIER_KEYS.has(key) || key === lookupKey) continue;
      const cost = applyValue(target.attributes, key, value, merge);
      if (!NON_BILLABLE_KEYS.has(key)) dataPoints += cost;
    }
    target.updatedSeq = ++this.seq;
    return dataPoints;
  }

  /**
   * Records one valid custom event (`name`, `time`) or purchase (`product_id`, `time`,
   * `quantity`) on its profile, creating the profile as Braze does unless the object is
   * update-only. A purchase of quantity N counts as N purchases, as Braze records it.
   * Returns false when no profile took it.
   */
  record(kind: 'events' | 'purchases', item: Record<string, unknown>): boolean {
    const target = this.findOrCreate(item);
    if (target === undefined) return false;
    const name = String(kind === 'events' ? item.name : item.product_id);
    const time = new Date(String(item.time)).toISOString();
    const count = kind === 'purchases' && typeof item.quantity === 'number' ? item.quantity : 1;
    const activity = kind === 'events' ? target.events : target.purchases;
    const seen = activity.get(name);
    if (seen === undefined) {
      activity.set(name, { first: time, last: time, count });
    } else {
      if (time < seen.first) seen.first = time;
      if (time > seen.last) seen.last = time;
      seen.count += count;
    }
    target.updatedSeq = ++this.seq;
    return true;
  }

  /**
   * The custom events and purchases of the profile with this external id, as
   * `/users/export/ids` lists them (`custom_events`, `purchases`), sorted by name.
   */
  activity(externalId: string): { custom_events: ActivitySummary[]; purchases: ActivitySummary[] } {
    const stored = this.resolve(externalId);
    return {
      custom_events: summaries(stored?.events),
      purchases: summaries(stored?.purchases),
    };
  }

  /**
   * Merges the profile `mergeId` into `keepId` as Braze's `/users/merge` does: attributes the
   * kept profile lacks are copied over, custom events and purchases are added to the kept
   * profile's, then the merged profile is removed. Returns false and
   * changes nothing when either profile is missing or both ids are the same.
   */
  merge(mergeId: string, keepId: string): boolean {
    const merged = this.resolve(mergeId);
    const kept = this.resolve(keepId);
    if (merged === undefined || kept === undefined || merged === kept) return false;
    for (const [key, value] of Object.entries(merged.attributes)) {
      if (IDENTIFIER_KEYS.has(key) || Object.hasOwn(kept.attributes, key)) continue;
      kept.attributes[key] = structuredClone(value);
    }
    addActivity(kept.events, merged.events);
    addActivity(kept.purchases, merged.purchases);
    kept.updatedSeq = ++this.seq;
    this.forget(merged);
    return true;
  }

  /**
   * Removes the profile this external id names (its primary or a deprecated id), with all its
   * ids; false when there was none.
   */
  delete(externalId: string): boolean {
    const stored = this.resolve(externalId);
    if (stored === undefined) return false;
    this.forget(stored);
    return true;
  }

  /**
   * Renames a profile's external id as `/users/external_ids/rename` does: `currentId` must be
   * a profile's primary id and `newId` must name no profile, as primary or deprecated id. The
   * old id becomes deprecated and keeps naming the profile. Returns why it refused, or
   * undefined when the profile was renamed.
   */
  rename(currentId: string, newId: string): RenameRefusal | undefined {
    if (currentId === newId) return 'current_external_id and new_external_id cannot be the same';
    const stored = this.byExternalId.get(currentId);
    if (stored === undefined) return 'current_external_id is not the primary external_id of a user';
    if (this.resolve(newId) !== undefined) return 'new_external_id is already in use';
    this.byExternalId.delete(currentId);
    this.byExternalId.set(newId, stored);
    this.byDeprecatedId.set(currentId, stored);
    stored.deprecatedIds.push(currentId);
    stored.attributes.external_id = newId;
    stored.updatedSeq = ++this.seq;
    return undefined;
  }

  /** A copy of the profile this external id names (primary or deprecated), if any. */
  get(externalId: string): Profile | undefined {
    const stored = this.resolve(externalId);
    return stored === undefined ? undefined : structuredClone(stored.attributes);
  }

  /** The deprecated external ids of the profile this id names, oldest first. */
  deprecatedIds(externalId: string): string[] {
    return [...(this.resolve(externalId)?.deprecatedIds ?? [])];
  }

  /** Copies of every profile: external-id profiles first, then email-only ones. */
  all(): Profile[] {
    return [...this.byExternalId.values(), ...this.byEmail.values()].map((stored) =>
      structuredClone(stored.attributes),
    );
  }

  /** Copies of the profiles whose `email` equals `email` (case-insensitive). */
  findByEmail(email: string): Profile[] {
    return this.matchingEmail(email).map((stored) => structuredClone(stored.attributes));
  }

  get size(): number {
    return this.byExternalId.size + this.byEmail.size;
  }

  clear(): void {
    this.byExternalId.clear();
    this.byEmail.clear();
    this.byDeprecatedId.clear();
    this.seq = 0;
  }

  /** The profile an external id names: by its primary id, else by a deprecated one. */
  private resolve(externalId: string): Stored | undefined {
    return this.byExternalId.get(externalId) ?? this.byDeprecatedId.get(externalId);
  }

  /** Drops a profile under every id it has. */
  private forget(stored: Stored): void {
    const primary = stored.attributes.external_id;
    if (typeof primary === 'string' && this.byExternalId.get(primary) === stored) {
      this.byExternalId.delete(primary);
    }
    for (const id of stored.deprecatedIds) this.byDeprecatedId.delete(id);
  }

  private findOrCreate(item: Record<string, unknown>): Stored | undefined {
    // Braze creates a missing profile unless the object asks for update-only mode.
    const updateOnly = item._update_existing_only === true;
    if (typeof item.external_id === 'string') {
      // A deprecated id still names its renamed profile.
      const existing = this.resolve(item.external_id);
      if (existing !== undefined || updateOnly) return existing;
      const created = newStored({ external_id: item.external_id });
      this.byExternalId.set(item.external_id, created);
      return created;
    }
    if (typeof item.email === 'string') {
      // Braze picks the most recently updated profile with an external id, else the most recent.
      const matches = this.matchingEmail(item.email).sort((a, b) => b.updatedSeq - a.updatedSeq);
      const best = matches.find((s) => 'external_id' in s.attributes) ?? matches[0];
      if (best !== undefined || updateOnly) return best;
      const created = newStored({ email: item.email });
      this.byEmail.set(item.email.toLowerCase(), created);
      return created;
    }
    if (typeof item.phone === 'string') {
      const phone = item.phone;
      return [...this.byExternalId.values(), ...this.byEmail.values()].find(
        (stored) => stored.attributes.phone === phone,
      );
    }
    // Not emulated: objects identified only by user_alias or braze_id are accepted but
    // applied to nothing, and phone-only objects never create a profile, so alias-first syncs
    // cannot be tested here; storing profiles by alias and braze_id would let this go.
    return undefined;
  }

  private matchingEmail(email: string): Stored[] {
    const wanted = email.toLowerCase();
    return [...this.byExternalId.values(), ...this.byEmail.values()].filter(
      (stored) =>
        typeof stored.attributes.email === 'string' &&
        stored.attributes.email.toLowerCase() === wanted,
    );
  }
}

function newStored(attributes: Profile): Stored {
  return { attributes, updatedSeq: 0, events: new Map(), purchases: new Map(), deprecatedIds: [] };
}

function summaries(activity: Activity | undefined): ActivitySummary[] {
  return [...(activity ?? new Map())]
    .map(([name, seen]) => ({ name, ...seen }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function addActivity(into: Activity, from: Activity): void {
  for (const [name, seen] of from) {
    const current = into.get(name);
    if (current === undefined) {
      into.set(name, { ...seen });
    } else {
      current.first = seen.first < current.first ? seen.first : current.first;
      current.last = seen.last > current.last ? seen.last : current.last;
      current.count += seen.count;
    }
  }
}

function identifiedBy(item: Record<string, unknown>): 'email' | 'phone' | undefined {
  if (typeof item.email === 'string') return 'email';
  if (typeof item.phone === 'string') return 'phone';
  return undefined;
}

/**
 * Splits a profile into Braze's export shape: standard fields at the top level, everything else
 * under `custom_attributes`. `fields` restricts the output like `fields_to_export`.
 */
export function toExportUser(profile: Profile, fields?: ReadonlySet<string>): Profile {
  const user: Profile = {};
  const custom: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(profile)) {
    if (STANDARD_FIELDS.has(key)) user[key] = value;
    else custom[key] = value;
  }
  user.custom_attributes = custom;
  if (fields === undefined) return user;
  return Object.fromEntries(
    Object.entries(user).filter(([key]) => key === 'external_id' || fields.has(key)),
  );
}

/** Applies one attribute value and returns its data-point cost before billing exemptions. */
function applyValue(profile: Profile, key: string, value: unknown, merge: boolean): number {
  if (value === null) {
    // Unsetting is a write too: Braze bills it like a set.
    delete profile[key];
    return 1;
  }
  if (isIncrement(value)) {
    const current = typeof profile[key] === 'number' ? (profile[key] as number) : 0;
    profile[key] = current + value.inc;
    return 1;
  }
  if (isArrayOperation(value)) {
    const current = Array.isArray(profile[key]) ? (profile[key] as unknown[]) : [];
    profile[key] = applyArrayOperation(current, value);
    // Braze bills one point per value added; removals are assumed to cost the same.
    return (value.add?.length ?? 0) + (value.remove?.length ?? 0);
  }
  if (Array.isArray(value)) {
    profile[key] = uniqueTruncated(value);
    return 1;
  }
  if (isPlainObject(value)) {
    // Not emulated: `$add`/`$remove`/`$update` array-of-objects operators and `$time`
    // validation are not interpreted, so such values are stored as plain objects; implementing
    // them per the nested-attributes page would let this go.
    const current = profile[key];
    profile[key] = merge && isPlainObject(current) ? deepMerge(current, value) : value;
    return Math.max(1, countLeafKeys(value));
  }
  profile[key] = value;
  return 1;
}

function isIncrement(value: unknown): value is { inc: number } {
  return (
    isPlainObject(value) &&
    Object.keys(value).length === 1 &&
    typeof value.inc === 'number' &&
    Number.isFinite(value.inc)
  );
}

type ArrayOperation = { add?: unknown[]; remove?: unknown[] };

function isArrayOperation(value: unknown): value is ArrayOperation {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length > 0 && keys.every((k) => (k === 'add' || k === 'remove') && Array.isArray(value[k]))
  );
}

function applyArrayOperation(current: unknown[], op: ArrayOperation): unknown[] {
  let next = [...current];
  for (const added of op.add ?? []) {
    // Adding an element that is already there moves it to the end.
    next = next.filter((element) => !sameValue(element, added));
    next.push(added);
  }
  for (const removed of op.remove ?? []) {
    next = next.filter((element) => !sameValue(element, removed));
  }
  return next.slice(0, MAX_ARRAY_LENGTH);
}

function uniqueTruncated(values: unknown[]): unknown[] {
  const unique: unknown[] = [];
  for (const value of values) {
    if (!unique.some((kept) => sameValue(kept, value))) unique.push(value);
  }
  return unique.slice(0, MAX_ARRAY_LENGTH);
}

function deepMerge(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = merged[key];
    if (value === null) {
      delete merged[key];
    } else if (isPlainObject(value) && isPlainObject(current)) {
      merged[key] = deepMerge(current, value);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

function countLeafKeys(value: Record<string, unknown>): number {
  let count = 0;
  for (const child of Object.values(value)) {
    count += isPlainObject(child) ? Math.max(1, countLeafKeys(child)) : 1;
  }
  return count;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** True for JSON objects (not arrays or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
