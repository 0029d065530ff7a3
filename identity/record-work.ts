import type { DatasetConfig } from '../config/schema';
import {
  clusterComponent,
  type ClusterEvent,
  type ClusterRecord,
} from '../domain/identity/cluster';
import { compileIdentity, indexEntries } from '../domain/identity/key-values';
import { keepsRecordAsIs, surviveGolden } from '../domain/identity/survive';
import { compileSourceRecipes, hasSourceRecipes } from '../domain/recipes/compile';
import { BadInputError } from '../connectors/errors';
import { derivedMasterId } from './master-ids';

/**
 * The per-record work of a unify, without I/O: parsing payloads, normalizing keys, clustering
 * and survivorship. The same code runs in the unify's own thread or in a record thread
 * (identity/record-worker.ts), so both give the same results. Everything in and out is plain
 * data that crosses between threads cheaply: flat arrays of strings rather than an object per
 * entry.
 */

/** A staged record as a rebuild first reads it: its payload still JSON text. */
export interface RawRecord {
  id: number;
  source: string;
  payload: string;
}

/** What an index entry is: a value that links, a role address, or a fuzzy block. */
export const ENTRY_KINDS = ['link', 'role', 'block'] as const;

/**
 * The index entries of a page of records, flat: record k has `counts[k]` entries, which follow
 * those of the records before it. Key names and kinds, a handful of strings repeated for every
 * entry, go as numbers: a string each cost more to copy between threads than the values.
 */
export interface PageEntries {
  counts: Int32Array;
  /** The key names of the page; entry i's is `keyNames[keyAt[i]]`. */
  keyNames: string[];
  keyAt: Uint16Array;
  values: string[];
  /** Entry i's kind is `ENTRY_KINDS[kindAt[i]]`. */
  kindAt: Uint8Array;
}

const KIND_CODES = new Map<string, number>(ENTRY_KINDS.map((kind, code) => [kind, code]));

/** Entry `at` of a page. */
export function entryAt(
  entries: PageEntries,
  at: number,
): { key: string; value: string; kind: string } {
  return {
    key: entries.keyNames[entries.keyAt[at]!]!,
    value: entries.values[at]!,
    kind: ENTRY_KINDS[entries.kindAt[at]!]!,
  };
}

/** One batch of units to cluster: its records and their raw components. */
export interface BatchInput {
  ids: number[];
  sources: string[];
  recordKeys: string[];
  payloads: string[];
  recencies: number[];
  /**
   * Raw components as positions into the lists above; a component of one is its own cluster.
   * The payload of a component of one from a source {@link keptAsStaged} may be sent as '':
   * its golden attributes are that payload, which the sender holds (see BatchCluster).
   */
  components: number[][];
}

/** A cluster of a batch, ready to become (or update) a golden record. */
export interface BatchCluster {
  /** Record ids, ascending. */
  members: number[];
  linkedBy: string[];
  /**
   * The golden attributes as JSON, after survivorship; null for a cluster of one whose payload
   * is kept as staged ({@link keptAsStaged}), which the sender already holds: sending it back
   * across threads cost a copy each way for most records of a rebuild.
   */
  attributes: string | null;
  /** `source:record_key` of each member, in member order, as JSON. */
  sourceKeys: string;
  /** The smallest `source:record_key`: what a new master id is derived from. */
  founder: string;
  /** The master id derived from the founder at the first attempt (identity/master-ids.ts). */
  derivedId: string;
}

/**
 * What the record worker found in a batch, flat: one object per cluster, each with its lists,
 * cost more to copy between threads than clustering them (a rebuild's batches of 5,000 records
 * took 0.4 s to send and 0.6 s to receive at 1M records, against 0.1 s and 0.2 s so). Clusters
 * are in order of their first member; cluster c's members are `members` from `starts[c]` to
 * `starts[c + 1]`, and its other fields are at c. {@link clustersOf} gives them as objects.
 */
export interface BatchClusters {
  starts: Int32Array;
  /** Record ids, ascending within each cluster. */
  members: Int32Array;
  /** Each cluster's `linkedBy`, as JSON. */
  linkedBy: string[];
  attributes: Array<string | null>;
  sourceKeys: string[];
  founders: string[];
  derivedIds: string[];
  /** Held records (ambiguous) and refused merges, by record id. */
  events: ClusterEvent[];
  /** The joins made, at most `joinSample` per rule in each batch (see compileRecordWork). */
  joins: Array<{ via: string; records: [number, number] }>;
}

export interface RecordWork {
  /** What each record is indexed under: parsed, source recipes applied, identified. */
  normalize(
    ids: readonly number[],
    sources: readonly string[],
    payloads: readonly string[],
  ): PageEntries;
  /** Clusters each raw component of a batch and builds each cluster's golden attributes. */
  cluster(batch: BatchInput): BatchClusters;
}

/**
 * Which sources' records, each alone in a golden record, become that record as staged: no
 * recipe and no survivorship rule changes a value. Their payload text is then the golden
 * attributes, without parsing and writing it again.
 */
export function keptAsStaged(dataset: DatasetConfig): (source: string) => boolean {
  const kept = new Map(
    dataset.sources.map((source) => [
      source,
      keepsRecordAsIs(dataset.survivorship) && !hasSourceRecipes(dataset, source),
    ]),
  );
  return (source) => kept.get(source) ?? false;
}

/**
 * Compiles a dataset's per-record work. `joinSample` bounds the joins reported per rule in a
 * batch: the caller keeps the first ones over its batches, so what it keeps does not depend on
 * which thread clustered which batch. A record a recipe drops is indexed under nothing and
 * keeps no values.
 */
export function compileRecordWork(
  dataset: DatasetConfig,
  name: string,
  joinSample: number,
): RecordWork {
  const identity = compileIdentity(dataset);
  const recipes = compileSourceRecipes(dataset, name);
  const valuesOf = (id: number, source: string, payload: string) => {
    let parsed: Record<string, string>;
    try {
      parsed = JSON.parse(payload) as Record<string, string>;
    } catch (error) {
      // Staging writes JSON, so this is a damaged row: named, its content never quoted, and
      // final (a retry reads the same row).
      const reason = (error as Error).message;
      throw new BadInputError(
        `source record ${id} (${source}): its stored payload is not JSON: ${reason}`,
      );
    }
    return recipes(source, parsed) ?? {};
  };

  const normalize = (
    ids: readonly number[],
    sources: readonly string[],
    payloads: readonly string[],
  ) => {
    const counts = new Int32Array(payloads.length);
    const keyNames = new Map<string, number>();
    const keyAt: number[] = [];
    const values: string[] = [];
    const kindAt: number[] = [];
    for (let k = 0; k < payloads.length; k++) {
      const entries = indexEntries(identity.identify(valuesOf(ids[k]!, sources[k]!, payloads[k]!)));
      counts[k] = entries.length;
      for (const entry of entries) {
        let key = keyNames.get(entry.key);
        if (key === undefined) keyNames.set(entry.key, (key = keyNames.size));
        keyAt.push(key);
        values.push(entry.value);
        kindAt.push(KIND_CODES.get(entry.kind)!);
      }
    }
    return {
      counts,
      keyNames: [...keyNames.keys()],
      keyAt: Uint16Array.from(keyAt),
      values,
      kindAt: Uint8Array.from(kindAt),
    };
  };

  const asStaged = keptAsStaged(dataset);

  const cluster = (batch: BatchInput): BatchClusters => {
    const parsed: Array<Record<string, string> | undefined> = new Array(batch.ids.length);
    const valuesAt = (at: number) =>
      (parsed[at] ??= valuesOf(batch.ids[at]!, batch.sources[at]!, batch.payloads[at]!));
    const label = (at: number) => `${batch.sources[at]}:${batch.recordKeys[at]}`;
    const positionOf = new Map(batch.ids.map((id, at) => [id, at]));

    const joinsPerRule = new Map<string, number>();
    const found: Array<{ members: number[]; linkedBy: string[] }> = [];
    const events: ClusterEvent[] = [];
    const joins: BatchClusters['joins'] = [];
    for (const component of batch.components) {
      if (component.length === 1) {
        found.push({ members: component, linkedBy: [] });
        continue;
      }
      // Normalized again rather than read back from the index: in a thread this is work the
      // unify's own thread, which does the reads and writes, no longer waits for.
      const records: ClusterRecord[] = component.map((at) => {
        const { blocks: _blocks, ...identityOf } = identity.identify(valuesAt(at));
        return { id: batch.ids[at]!, ...identityOf };
      });
      const outcome = clusterComponent(records, identity.plan);
      outcome.clusters.forEach((ids, c) => {
        found.push({
          members: ids.map((id) => positionOf.get(id)!),
          linkedBy: outcome.linkedBy[c]!,
        });
      });
      events.push(...outcome.events);
      // Only a sample per rule is kept; every join would grow with the input.
      for (const join of outcome.joins) {
        const seen = joinsPerRule.get(join.via) ?? 0;
        if (seen < joinSample) joins.push(join);
        joinsPerRule.set(join.via, seen + 1);
      }
    }

    const clusters = found.map(({ members, linkedBy }): BatchCluster => {
      if (members.length === 1) return alone(members[0]!, linkedBy);
      const ordered = [...members].sort((a, b) => batch.ids[a]! - batch.ids[b]!);
      const labels = ordered.map(label);
      const survivors = ordered.map((at) => ({
        id: batch.ids[at]!,
        source: batch.sources[at]!,
        recencyMs: batch.recencies[at]!,
        values: valuesAt(at),
      }));
      const founder = labels.reduce((min, l) => (l < min ? l : min));
      return {
        members: ordered.map((at) => batch.ids[at]!),
        linkedBy,
        attributes: JSON.stringify(surviveGolden(survivors, dataset.survivorship)),
        sourceKeys: JSON.stringify(labels),
        founder,
        derivedId: derivedMasterId(name, founder, 0),
      };
    });
    clusters.sort((a, b) => a.members[0]! - b.members[0]!);
    return { ...flatten(clusters), events, joins };

    // Most golden records have one member: the same as the general path, with less to build.
    function alone(at: number, linkedBy: string[]): BatchCluster {
      const founder = label(at);
      const source = batch.sources[at]!;
      // Staging writes payloads with JSON.stringify, which this gives back unchanged after
      // JSON.parse, so the payload is what parsing and writing it again would give.
      const member = () => ({
        id: batch.ids[at]!,
        source,
        recencyMs: batch.recencies[at]!,
        values: valuesAt(at),
      });
      const attributes = asStaged(source)
        ? null
        : JSON.stringify(surviveGolden([member()], dataset.survivorship));
      return {
        members: [batch.ids[at]!],
        linkedBy,
        attributes,
        sourceKeys: JSON.stringify([founder]),
        founder,
        derivedId: derivedMasterId(name, founder, 0),
      };
    }
  };

  return { normalize, cluster };
}

/** Clusters as the flat lists of {@link BatchClusters}. */
function flatten(clusters: BatchCluster[]): Omit<BatchClusters, 'events' | 'joins'> {
  const starts = new Int32Array(clusters.length + 1);
  clusters.forEach((cluster, c) => (starts[c + 1] = starts[c]! + cluster.members.length));
  const members = new Int32Array(starts[clusters.length]!);
  clusters.forEach((cluster, c) => members.set(cluster.members, starts[c]!));
  return {
    starts,
    members,
    linkedBy: clusters.map((c) => (c.linkedBy.length === 0 ? '[]' : JSON.stringify(c.linkedBy))),
    attributes: clusters.map((c) => c.attributes),
    sourceKeys: clusters.map((c) => c.sourceKeys),
    founders: clusters.map((c) => c.founder),
    derivedIds: clusters.map((c) => c.derivedId),
  };
}

/**
 * The clusters of a batch as objects, each member passed through `member` (by default the
 * record id as it is).
 */
export function clustersOf(
  found: BatchClusters,
  member: (recordId: number) => number = (id) => id,
): BatchCluster[] {
  const out: BatchCluster[] = [];
  for (let c = 0; c + 1 < found.starts.length; c++) {
    const members: number[] = [];
    for (let at = found.starts[c]!; at < found.starts[c + 1]!; at++)
      members.push(member(found.members[at]!));
    const linkedBy = found.linkedBy[c]!;
    out.push({
      members,
      linkedBy: linkedBy === '[]' ? [] : (JSON.parse(linkedBy) as string[]),
      attributes: found.attributes[c]!,
      sourceKeys: found.sourceKeys[c]!,
      founder: found.founders[c]!,
      derivedId: found.derivedIds[c]!,
    });
  }
  return out;
}
