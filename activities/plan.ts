import { log } from '@temporalio/activity';
import { resolveSync } from '../config/load';
import { toDestinationAttributes } from '../domain/attribute-values';
import { chunk } from '../domain/diff';
import { MAX_RENAMES_PER_REQUEST } from '../connectors/braze/limits';
import { loadPreparedRecords } from '../store/prepared';
import { loadDestinationAliases, loadDestinationRows, writeOutbox } from '../store/delivery';
import { recordRowErrors, setCounts, type RowError } from '../store/runs';
import type { ActivityDeps } from './deps';
import { planEvents } from './plan-events';
import { planIdentityChanges, planUpdates, type PlannedRecord } from './plan-identity';
import { withFailures } from './failure';

export interface PlanDeliveryInput {
  runId: string;
  syncId: string;
}

export interface PlanDeliveryResult {
  recordsPlanned: number;
  recordsSkipped: number;
  batches: number;
}

/**
 * Compares every golden record with what the destination last accepted and writes the changed
 * attributes, in batches, to the run's outbox. Records with nothing new are left out, so an
 * unchanged dataset plans zero requests. A record whose external id changed gets a rename,
 * in batches numbered before the attribute updates (see planUpdates). Planning a run twice
 * keeps the first plan.
 */
export async function planDelivery(
  deps: ActivityDeps,
  input: PlanDeliveryInput,
): Promise<PlanDeliveryResult> {
  return withFailures(async () => {
    const { sync, destination } = resolveSync(deps.config, input.syncId);
    // Golden attributes after recipes, with computed fields and scores (activities/prepare.ts).
    const golden = await loadPreparedRecords(deps.db, sync.dataset);
    const lastSent = await loadDestinationRows(deps.db, input.syncId);

    const records: PlannedRecord[] = [];
    const skipped: RowError[] = [];
    for (const record of golden) {
      const fields: Record<string, string> = { ...record.attributes, master_id: record.masterId };
      const externalId = fields[sync.identifier]?.trim();
      if (!externalId) {
        skipped.push({
          stage: 'plan',
          recordKey: record.masterId,
          field: sync.identifier,
          reason: 'no identifier',
        });
        continue;
      }
      const typed = toDestinationAttributes(fields, sync.mapping, destination.attributes);
      if (!typed.ok) {
        skipped.push({ stage: 'plan', recordKey: record.masterId, reason: typed.reason });
        continue;
      }
      records.push({ masterId: record.masterId, externalId, attributes: typed.attributes });
    }

    const aliases = await loadDestinationAliases(deps.db, input.syncId);
    const { items, renames, blocked } = planUpdates(
      records,
      lastSent,
      destination.onRename,
      aliases,
    );
    for (const { masterId, holder } of blocked) {
      skipped.push({
        stage: 'plan',
        recordKey: masterId,
        field: sync.identifier,
        reason: `not sent: its ${sync.identifier} is the Braze profile of golden record ${holder}`,
      });
    }
    const tracked = await writeOutbox(
      deps.db,
      input.runId,
      input.syncId,
      chunk(items, destination.batchSize),
      chunk(renames, Math.min(MAX_RENAMES_PER_REQUEST, destination.batchSize)),
    );
    // Events after the attribute updates, which create the profiles they go to; before merges
    // and deletes, so no request of this run removes a profile between planning and sending.
    const events = await planEvents(deps, input);
    const batches = tracked + events.batches + (await planIdentityChanges(deps, input));
    await deps.db.transaction(async (trx) => {
      // Events refused at planning (field: their export key) stay: the ledger holds them, so a
      // second plan of the run would not report them again.
      await trx('row_errors')
        .where({ run_id: input.runId, stage: 'plan' })
        .where((q) =>
          q
            .whereNull('field')
            .orWhere((r) =>
              r.whereNot('field', 'like', 'event:%').whereNot('field', 'like', 'purchase:%'),
            ),
        )
        .delete();
      await recordRowErrors(trx, input.runId, skipped);
      await setCounts(trx, input.runId, {
        recordsPlanned: items.length,
        recordsSkipped: skipped.length,
        batchesPlanned: batches,
        eventsPlanned: events.eventsPlanned,
      });
    });
    log.info('Delivery planned', {
      syncId: input.syncId,
      recordCount: items.length,
      renameCount: renames.length,
      batchCount: batches,
    });
    return { recordsPlanned: items.length, recordsSkipped: skipped.length, batches };
  });
}
