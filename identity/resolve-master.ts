import type { Knex } from 'knex';
import type { BraidConfig } from '../config/schema';
import { unifyDataset } from './unify-dataset';

/**
 * The webhook upsert answer: unifies (incrementally) every profile dataset the source feeds and
 * returns the master id the staged record now belongs to, in the first such dataset. Null when
 * the record is held back as ambiguous or no dataset reads the source.
 */
export async function resolveMasterId(
  db: Knex,
  config: BraidConfig,
  source: string,
  stagedRecordId: number,
  nowMs: number,
): Promise<string | null> {
  let answer: string | null = null;
  for (const [name, dataset] of Object.entries(config.datasets)) {
    if (!dataset.sources.includes(source)) continue;
    await unifyDataset(db, name, dataset, { runId: `upsert-${stagedRecordId}`, nowMs });
    if (answer !== null) continue;
    const row = await db('identity_members as m')
      .join('golden_records as g', 'g.id', 'm.golden_id')
      .where({ 'm.dataset': name, 'm.record_id': stagedRecordId })
      .first('g.master_id');
    answer = row?.master_id ?? null;
  }
  return answer;
}
