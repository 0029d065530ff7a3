import type { Knex } from 'knex';

import { chunk } from '../domain/diff';
import { bulkInsert, inIds } from './bulk';
import { isPostgres } from './db';
import { guarded, type AggregateValues } from './prepared';

type Db = Knex | Knex.Transaction;

/** Golden records read per page when collecting their members' keys. */
const GOLDEN_PAGE = 2000;
/** Master ids per IN list: well under both databases' bound-parameter limits. */
const IN_CHUNK = 900;
/** Rows per bulk INSERT (one JSON parameter, see store/bulk.ts). */
const BULK_ROWS = 5000;

/** An active golden record with more than one member, and its live members' staged values. */
export interface MultiMemberRecord {
  masterId: string;
  attributes: Record<string, string>;
  members: Array<{ source: string; values: Record<string, string> }>;
}

/**
 * Every active golden record of the dataset with more than one member, page by page in id
 * order. Only these can hold several customer keys; a golden record of one member holds the
 * one its field shows. `member_count` is kept by the identity engine with every write.
 */
export async function* multiMemberRecords(
  db: Db,
  dataset: string,
): AsyncGenerator<MultiMemberRecord[]> {
  for (let after = 0; ;) {
    const goldens = await guarded('multiMemberRecords', 'golden_records', () =>
      db('golden_records')
        .where({ dataset, status: 'active' })
        .where('member_count', '>', 1)
        .where('id', '>', after)
        .orderBy('id')
        .limit(GOLDEN_PAGE)
        .select('id', 'master_id', 'attributes'),
    );
    if (goldens.length === 0) return;
    after = Number(goldens[goldens.length - 1].id);
    const ids = goldens.map((g) => Number(g.id));
    const members = await guarded('multiMemberRecords', 'identity_members', () =>
      db('identity_members as m')
        .join('source_records as s', 's.id', 'm.record_id')
        .where('m.dataset', dataset)
        .where(inIds(db, 'm.golden_id', ids))
        .whereNull('s.deleted_at_ms')
        .orderBy('s.id')
        .select('m.golden_id', 's.source', 's.payload'),
    );
    const byGolden = new Map<number, MultiMemberRecord>();
    const page = goldens.map((g) => {
      const record: MultiMemberRecord = {
        masterId: g.master_id,
        attributes: JSON.parse(g.attributes),
        members: [],
      };
      byGolden.set(Number(g.id), record);
      return record;
    });
    for (const m of members) {
      byGolden
        .get(Number(m.golden_id))
        ?.members.push({ source: m.source, values: JSON.parse(m.payload) });
    }
    yield page;
  }
}

/** The stored keys of one link's golden records that hold several: master id → sorted keys. */
export async function loadLinkKeys(
  db: Db,
  dataset: string,
  link: string,
): Promise<Map<string, string[]>> {
  return guarded('loadLinkKeys', 'link_keys', async () => {
    const rows = await db('link_keys').where({ dataset, link }).select('master_id', 'customer_key');
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const list = out.get(r.master_id);
      if (list) list.push(r.customer_key);
      else out.set(r.master_id, [r.customer_key]);
    }
    // Sorted here, not in SQL: PostgreSQL's collation may order text differently.
    for (const list of out.values()) list.sort();
    return out;
  });
}

/** Replaces one link's multi-key golden records with `keys` (master id → its keys). */
export async function replaceLinkKeys(
  db: Db,
  dataset: string,
  link: string,
  keys: Map<string, string[]>,
): Promise<void> {
  return guarded('replaceLinkKeys', 'link_keys', async () => {
    await db('link_keys').where({ dataset, link }).delete();
    const rows = [...keys].flatMap(([masterId, list]) =>
      list.map((key) => ({ dataset, link, master_id: masterId, customer_key: key })),
    );
    const columns = {
      dataset: 'text',
      link: 'text',
      master_id: 'text',
      customer_key: 'text',
    } as const;
    for (const part of chunk(rows, BULK_ROWS)) await bulkInsert(db, 'link_keys', columns, part);
    if (isPostgres(db) && rows.length > 0) await db.raw('ANALYZE link_keys');
  });
}

/** Stored aggregates of one link's multi-key golden records: master id → values. */
export async function loadMasterAggregates(
  db: Db,
  dataset: string,
  link: string,
): Promise<Map<string, AggregateValues>> {
  return guarded('loadMasterAggregates', 'prepared_master_aggregates', async () => {
    const rows = await db('prepared_master_aggregates')
      .where({ dataset, link })
      .select('master_id', 'vals');
    return new Map(rows.map((r) => [r.master_id as string, JSON.parse(r.vals) as AggregateValues]));
  });
}

/**
 * Replaces the aggregates of the given golden records (every one of the link's when null) with
 * `values`; a record recomputed without any event, or listed in `removed`, loses its row.
 */
export async function replaceMasterAggregates(
  db: Db,
  dataset: string,
  link: string,
  masters: string[] | null,
  values: Map<string, AggregateValues>,
  removed: string[],
): Promise<void> {
  return guarded('replaceMasterAggregates', 'prepared_master_aggregates', async () => {
    const table = () => db('prepared_master_aggregates').where({ dataset, link });
    const gone = masters === null ? null : [...masters, ...removed];
    if (gone === null) await table().delete();
    for (const part of chunk(gone ?? [], IN_CHUNK)) {
      await table().whereIn('master_id', part).delete();
    }
    const rows = [...values].map(([masterId, vals]) => ({
      dataset,
      link,
      master_id: masterId,
      vals: JSON.stringify(vals),
    }));
    const columns = { dataset: 'text', link: 'text', master_id: 'text', vals: 'text' } as const;
    for (const part of chunk(rows, BULK_ROWS)) {
      await bulkInsert(db, 'prepared_master_aggregates', columns, part);
    }
  });
}
