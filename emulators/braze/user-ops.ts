import { MAX_DELETE_IDS, MAX_MERGE_UPDATES, MAX_RENAMES } from './limits';
import { isPlainObject, type ProfileStore } from './store';

/**
 * What `/users/merge`, `/users/delete` or `/users/external_ids/rename` answers for a parsed
 * body, and what it changed.
 */
export type UserOpOutcome = {
  status: number;
  body: Record<string, unknown>;
  /** Profiles removed from the store (merged away or deleted), or renamed. */
  removed: number;
};

// Wording from Braze's errors page (see braze-api.md §1.7) for the 50-item endpoints.
const TOO_MANY_IDS = 'The max number of external_ids and aliases per request was exceeded';
const DELETE_IDENTIFIERS = [
  'external_ids',
  'user_aliases',
  'braze_ids',
  'email_addresses',
  'phone_numbers',
] as const;

const refused = (message: string): UserOpOutcome => ({
  status: 400,
  body: { message },
  removed: 0,
});

/**
 * Handles a parsed `/users/merge` body. Every pair is checked before any is applied, so a
 * refused request changes nothing. A pair whose profiles do not both exist is skipped, as an
 * asynchronous merge of an unknown user would be; the answer is `{"message":"success"}` either
 * way, which is what makes re-sending a merge harmless.
 */
export function handleMerge(parsed: unknown, store: ProfileStore): UserOpOutcome {
  if (!isPlainObject(parsed)) return refused('Request body must be a JSON object');
  const updates = parsed.merge_updates;
  if (!Array.isArray(updates) || updates.length === 0) {
    return refused("'merge_updates' must be a non-empty array");
  }
  if (updates.length > MAX_MERGE_UPDATES) return refused(TOO_MANY_IDS);

  const pairs: Array<{ merge: string; keep: string }> = [];
  for (const [index, update] of updates.entries()) {
    const merge = isPlainObject(update) ? externalIdOf(update.identifier_to_merge) : undefined;
    const keep = isPlainObject(update) ? externalIdOf(update.identifier_to_keep) : undefined;
    // Not emulated: identifiers by user_alias, email or phone are refused here although
    // Braze accepts them, so only external-id merges can be tested; storing profiles by alias
    // (see store.ts) would let this go.
    if (merge === undefined || keep === undefined) {
      return refused(
        `merge_updates[${index}] needs identifier_to_merge and identifier_to_keep ` +
          'with an external_id',
      );
    }
    if (merge === keep) return refused(`merge_updates[${index}] merges a user into itself`);
    pairs.push({ merge, keep });
  }

  let removed = 0;
  for (const pair of pairs) if (store.merge(pair.merge, pair.keep)) removed += 1;
  return { status: 201, body: { message: 'success' }, removed };
}

/**
 * Handles a parsed `/users/delete` body by external ids. Braze allows one identifier type per
 * request and at most 50 identifiers. Unknown ids are ignored; `deleted` counts the profiles
 * that existed and are now gone.
 */
export function handleDelete(parsed: unknown, store: ProfileStore): UserOpOutcome {
  if (!isPlainObject(parsed)) return refused('Request body must be a JSON object');
  const present = DELETE_IDENTIFIERS.filter((name) => parsed[name] !== undefined);
  if (present.length === 0) return refused(`Provide one of ${DELETE_IDENTIFIERS.join(', ')}`);
  if (present.length > 1) {
    return refused(`Only one of ${DELETE_IDENTIFIERS.join(', ')} can be included in a request`);
  }
  const ids = parsed.external_ids;
  // Not emulated: deletion by alias, braze_id, email or phone is refused although Braze
  // accepts it; storing profiles by alias and braze_id would let this go.
  if (present[0] !== 'external_ids') {
    return refused(`'${present[0]}' is not supported by this emulator; use 'external_ids'`);
  }
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === '')) {
    return refused("'external_ids' must be an array of non-empty strings");
  }
  if (ids.length > MAX_DELETE_IDS) return refused(TOO_MANY_IDS);

  let removed = 0;
  for (const id of ids as string[]) if (store.delete(id)) removed += 1;
  return { status: 201, body: { deleted: removed }, removed };
}

function externalIdOf(identifier: unknown): string | undefined {
  if (!isPlainObject(identifier)) return undefined;
  const id = identifier.external_id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/**
 * Handles a parsed `/users/external_ids/rename` body. The request is refused whole (400) when
 * `external_id_renames` is missing, empty or longer than 50, as Braze's `message` answers
 * those. Otherwise each object is applied in order, on its own: a refused one is listed in
 * `rename_errors` as `[index, message]` and does not stop the others; `external_ids` lists the
 * new ids of the renamed profiles. Renaming an id that is already renamed is refused (it is
 * deprecated by then), as in Braze.
 */
export function handleRename(parsed: unknown, store: ProfileStore): UserOpOutcome {
  if (!isPlainObject(parsed)) return refused('Request body must be a JSON object');
  const renames = parsed.external_id_renames;
  if (!Array.isArray(renames) || renames.length === 0) {
    return refused("'external_id_renames' must be a non-empty array");
  }
  if (renames.length > MAX_RENAMES) return refused(TOO_MANY_IDS);

  const renamed: string[] = [];
  const errors: Array<[number, string]> = [];
  for (const [index, rename] of renames.entries()) {
    const current = isPlainObject(rename) ? rename.current_external_id : undefined;
    const next = isPlainObject(rename) ? rename.new_external_id : undefined;
    if (typeof current !== 'string' || current === '' || typeof next !== 'string' || next === '') {
      errors.push([index, 'current_external_id and new_external_id must be non-empty strings']);
      continue;
    }
    const refusal = store.rename(current, next);
    if (refusal === undefined) renamed.push(next);
    else errors.push([index, refusal]);
  }
  return {
    status: 201,
    body: { message: 'success', external_ids: renamed, rename_errors: errors },
    removed: renamed.length,
  };
}
