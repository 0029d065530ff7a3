import type { Knex } from 'knex';

export interface StagedRecord {
  id: number;
  source: string;
  recordKey: string;
  values: Record<string, string>;
  sourceUpdatedAtMs: number | null;
  stagedAtMs: number;
}

/** All staged records of the given sources, in id order. */
export async function loadStagedRecords(db: Knex, sources: string[]): Promise<StagedRecord[]> {
  const rows = await db('source_records')
    .whereIn('source', sources)
    .orderBy('id')
    .select('id', 'source', 'record_key', 'payload', 'source_updated_at_ms', 'staged_at_ms');
  return rows.map((r) => ({
    id: Number(r.id),
    source: r.source,
    recordKey: r.record_key,
    values: JSON.parse(r.payload),
    sourceUpdatedAtMs: r.source_updated_at_ms === null ? null : Number(r.source_updated_at_ms),
    stagedAtMs: Number(r.staged_at_ms),
  }));
}

/** source record id → master id, from the previous unify of this dataset. */
export async function loadLinks(db: Knex, dataset: string): Promise<Map<number, string>> {
  const rows = await db('identity_links').where({ dataset }).select('source_record_id', 'master_id');
  return new Map(rows.map((r) => [Number(r.source_record_id), r.master_id as string]));
}

/** master id → creation order (lower is older), for every golden record of the dataset. */
export async function loadMasterRanks(db: Knex, dataset: string): Promise<Map<string, number>> {
  const rows = await db('golden_records').where({ dataset }).select('id', 'master_id');
  return new Map(rows.map((r) => [r.master_id as string, Number(r.id)]));
}

export interface GoldenWrite {
  masterId: string;
  isNew: boolean;
  attributes: Record<string, string>;
  sourceKeys: string[];
  memberIds: number[];
}

export interface IdentityEvent {
  kind: 'merge' | 'split';
  masterId: string;
  otherMasterId: string;
  rule: string;
}

/**
 * Writes one unify result in a single transaction: golden records (new, changed, or retired as
 * merged into another), the link of every source record, and the merge/split log.
 */
export async function saveUnifyResult(
  db: Knex,
  input: {
    dataset: string;
    runId: string;
    nowMs: number;
    golden: GoldenWrite[];
    retired: Array<{ masterId: string; mergedInto: string | null }>;
    events: IdentityEvent[];
  },
): Promise<void> {
  const { dataset, runId, nowMs } = input;
  await db.transaction(async (trx) => {
    const existing = new Map<string, { attributes: string; source_keys: string }>();
    const rows = await trx('golden_records').where({ dataset }).select('master_id', 'attributes', 'source_keys');
    for (const row of rows) existing.set(row.master_id, row);

    for (const golden of input.golden) {
      const attributes = JSON.stringify(golden.attributes);
      const sourceKeys = JSON.stringify(golden.sourceKeys);
      const before = existing.get(golden.masterId);
      if (!before) {
        await trx('golden_records').insert({
          master_id: golden.masterId,
          dataset,
          status: 'active',
          merged_into: null,
          attributes,
          source_keys: sourceKeys,
          created_at_ms: nowMs,
          updated_at_ms: nowMs,
        });
      } else if (before.attributes !== attributes || before.source_keys !== sourceKeys) {
        await trx('golden_records')
          .where({ master_id: golden.masterId })
          .update({ attributes, source_keys: sourceKeys, status: 'active', merged_into: null, updated_at_ms: nowMs });
      }
    }
    for (const gone of input.retired) {
      await trx('golden_records')
        .where({ master_id: gone.masterId })
        .update({ status: gone.mergedInto ? 'merged' : 'retired', merged_into: gone.mergedInto, updated_at_ms: nowMs });
    }

    await trx('identity_links').where({ dataset }).delete();
    const links = input.golden.flatMap((g) =>
      g.memberIds.map((id) => ({ source_record_id: id, dataset, master_id: g.masterId })),
    );
    for (let i = 0; i < links.length; i += 500) await trx('identity_links').insert(links.slice(i, i + 500));

    const events = input.events.map((e) => ({
      dataset,
      kind: e.kind,
      master_id: e.masterId,
      other_master_id: e.otherMasterId,
      rule: e.rule,
      run_id: runId,
      at_ms: nowMs,
    }));
    for (let i = 0; i < events.length; i += 500) await trx('identity_events').insert(events.slice(i, i + 500));
  });
}

export interface GoldenRecord {
  masterId: string;
  attributes: Record<string, string>;
  sourceKeys: string[];
}

/** Active golden records of a dataset, oldest first. */
export async function loadGoldenRecords(db: Knex, dataset: string): Promise<GoldenRecord[]> {
  const rows = await db('golden_records')
    .where({ dataset, status: 'active' })
    .orderBy('id')
    .select('master_id', 'attributes', 'source_keys');
  return rows.map((r) => ({
    masterId: r.master_id,
    attributes: JSON.parse(r.attributes),
    sourceKeys: JSON.parse(r.source_keys),
  }));
}
