import { UnionFind } from '../union-find';
import { jaroWinkler, phoneticCode } from './similarity';

/**
 * Clustering of one connected component of records under a dataset's identity rules.
 *
 * The caller hands over every record that shares any key value, role address or fuzzy block
 * with another one in the set (a "raw component"). The result depends only on those records and
 * their ids, never on the order they arrive in: that is what makes an incremental run (which
 * re-clusters only the components a change touches) give the same clusters as a full rebuild.
 */

/** A rule set as the engine runs it (see IdentityRule in config/schema.ts). */
export type RulePlan =
  | { name: string; kind: 'exact'; keys: string[] }
  | { name: string; kind: 'fuzzy'; block: string[]; compare: FuzzyComparison[] };

export interface FuzzyComparison {
  column: string;
  method: 'jaro_winkler' | 'phonetic' | 'exact';
  threshold: number;
}

export interface IdentityPlan {
  rules: RulePlan[];
  /** key name → most distinct values one golden record may hold. */
  limits: Record<string, number>;
  /** Fuzzy blocks larger than this are not compared pair by pair (reported instead). */
  maxBlockSize?: number;
}

export interface ClusterRecord {
  id: number;
  /** Linkable key values: key name → normalized values (one per key for single columns). */
  keys: Record<string, string[]>;
  /** Role addresses (shared mailboxes): never linked on, but a sign of ambiguity. */
  roles: string[];
  /** Normalized text of the columns fuzzy rules block and compare on. */
  columns: Record<string, string>;
}

export type ClusterEvent =
  | { kind: 'limit_refused'; rule: string; key: string; records: [number, number] }
  | { kind: 'lock_refused'; rule: string; records: [number, number] }
  | { kind: 'ambiguous'; rule: string; record: number; candidates: number[] }
  | { kind: 'block_too_large'; rule: string; block: string; size: number };

export interface ClusterOutcome {
  /** Record ids per cluster, each sorted; clusters ordered by their smallest id. */
  clusters: number[][];
  /** For each cluster, the `rule/key` names that linked its members. */
  linkedBy: string[][];
  /** Records held back: they could belong to several people (see README, "ambiguous"). */
  ambiguous: number[];
  events: ClusterEvent[];
  /** Every join made, as record-id pairs with the `rule/key` that made it (for previews). */
  joins: Array<{ via: string; records: [number, number] }>;
}

const DEFAULT_MAX_BLOCK = 1000;

export function clusterComponent(
  input: ReadonlyArray<ClusterRecord>,
  plan: IdentityPlan,
): ClusterOutcome {
  const records = [...input].sort((a, b) => a.id - b.id);
  const state = new ClusterState(records, plan.limits);
  const events: ClusterEvent[] = [];
  const held = new Set<number>();

  plan.rules.forEach((rule, ruleIndex) => {
    const edges =
      rule.kind === 'exact' ? exactEdges(records, rule) : fuzzyEdges(records, rule, plan, events);
    if (ruleIndex === 0) {
      for (const edge of edges) state.tryUnion(edge, rule.name, events);
    } else {
      attachToLocked(state, edges, rule.name, events, held);
    }
    state.lockFormedClusters();
  });

  holdRoleOnlyRecords(records, state, held, events);
  return state.outcome(held, events);
}

interface Edge {
  a: number;
  b: number;
  /** The key (or fuzzy rule) that links a and b. */
  via: string;
}

/** Edges from shared exact values, key by key as the rule lists them, values in sorted order. */
function exactEdges(records: ClusterRecord[], rule: Extract<RulePlan, { kind: 'exact' }>): Edge[] {
  const edges: Edge[] = [];
  for (const key of rule.keys) {
    const holders = new Map<string, number[]>();
    records.forEach((record, index) => {
      for (const value of record.keys[key] ?? []) {
        const list = holders.get(value);
        if (list) list.push(index);
        else holders.set(value, [index]);
      }
    });
    for (const value of [...holders.keys()].sort()) {
      const list = holders.get(value)!;
      for (let i = 1; i < list.length; i++) edges.push({ a: list[0]!, b: list[i]!, via: key });
    }
  }
  return edges;
}

/** Candidate pairs share every block column; each comparison must pass for an edge. */
function fuzzyEdges(
  records: ClusterRecord[],
  rule: Extract<RulePlan, { kind: 'fuzzy' }>,
  plan: IdentityPlan,
  events: ClusterEvent[],
): Edge[] {
  const blocks = new Map<string, number[]>();
  records.forEach((record, index) => {
    const parts = rule.block.map((column) => record.columns[column]);
    if (parts.some((p) => !p)) return;
    const block = parts.join('\u001f');
    const list = blocks.get(block);
    if (list) list.push(index);
    else blocks.set(block, [index]);
  });

  const edges: Edge[] = [];
  const limit = plan.maxBlockSize ?? DEFAULT_MAX_BLOCK;
  for (const block of [...blocks.keys()].sort()) {
    const list = blocks.get(block)!;
    if (list.length > limit) {
      events.push({ kind: 'block_too_large', rule: rule.name, block, size: list.length });
      continue;
    }
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        if (fuzzyMatch(records[list[i]!]!, records[list[j]!]!, rule.compare)) {
          edges.push({ a: list[i]!, b: list[j]!, via: rule.name });
        }
      }
    }
  }
  return edges;
}

function fuzzyMatch(a: ClusterRecord, b: ClusterRecord, compare: FuzzyComparison[]): boolean {
  return compare.every(({ column, method, threshold }) => {
    const x = a.columns[column];
    const y = b.columns[column];
    if (!x || !y) return false;
    if (method === 'exact') return x === y;
    if (method === 'phonetic') return phoneticCode(x) !== '' && phoneticCode(x) === phoneticCode(y);
    return jaroWinkler(x, y) >= threshold;
  });
}

/**
 * Later rule sets may join unlocked records with each other, and attach an unlocked group to
 * exactly one locked cluster. A group that reaches two locked clusters is ambiguous and stays
 * apart; two locked clusters are never merged by a lower-confidence rule.
 */
function attachToLocked(
  state: ClusterState,
  edges: Edge[],
  rule: string,
  events: ClusterEvent[],
  held: Set<number>,
): void {
  const crossing: Edge[] = [];
  for (const edge of edges) {
    const lockedA = state.isLocked(edge.a);
    const lockedB = state.isLocked(edge.b);
    if (lockedA && lockedB) {
      if (state.find(edge.a) !== state.find(edge.b)) {
        events.push({ kind: 'lock_refused', rule, records: state.ids(edge) });
      }
    } else if (!lockedA && !lockedB) state.tryUnion(edge, rule, events);
    else crossing.push(edge);
  }

  const targets = new Map<number, { locked: Set<number>; edges: Edge[] }>();
  for (const edge of crossing) {
    const [free, locked] = state.isLocked(edge.a) ? [edge.b, edge.a] : [edge.a, edge.b];
    const root = state.find(free);
    const entry = targets.get(root) ?? { locked: new Set<number>(), edges: [] };
    entry.locked.add(state.find(locked));
    entry.edges.push(edge);
    targets.set(root, entry);
  }
  for (const root of [...targets.keys()].sort((a, b) => state.minIndex(a) - state.minIndex(b))) {
    const { locked: lockedThen, edges: linking } = targets.get(root)!;
    // Roots as they are now: an earlier target joining a locked cluster may have moved its root.
    const locked = new Set([...lockedThen].map((r) => state.find(r)));
    if (locked.size === 1) {
      state.tryUnion(linking[0]!, rule, events);
      continue;
    }
    const candidates = [...locked].map((r) => state.minId(r)).sort((a, b) => a - b);
    for (const index of state.membersOf(root)) {
      held.add(index);
      events.push({ kind: 'ambiguous', rule, record: state.recordId(index), candidates });
    }
  }
}

/**
 * A record whose only identifiers are role addresses shared with other records cannot be told
 * apart: a shared mailbox is not a person. It is held back rather than guessed.
 */
function holdRoleOnlyRecords(
  records: ClusterRecord[],
  state: ClusterState,
  held: Set<number>,
  events: ClusterEvent[],
): void {
  const roleHolders = new Map<string, number[]>();
  records.forEach((record, index) => {
    for (const role of record.roles) {
      const holders = roleHolders.get(role);
      if (holders) holders.push(index);
      else roleHolders.set(role, [index]);
    }
  });
  records.forEach((record, index) => {
    if (held.has(index) || state.size(index) > 1 || hasLinkableValue(record)) return;
    const others = new Set<number>();
    for (const role of record.roles) {
      for (const other of roleHolders.get(role)!)
        if (other !== index) others.add(state.find(other));
    }
    if (others.size === 0) return;
    held.add(index);
    const candidates = [...others].map((r) => state.minId(r)).sort((a, b) => a - b);
    events.push({ kind: 'ambiguous', rule: 'role-address', record: record.id, candidates });
  });
}

function hasLinkableValue(record: ClusterRecord): boolean {
  return Object.values(record.keys).some((values) => values.length > 0);
}

/** Union-find plus what the guards need: per-cluster key values under limits, and locks. */
class ClusterState {
  private readonly sets: UnionFind;
  private readonly limited: Map<number, Map<string, Set<string>>>;
  private readonly locked = new Set<number>();
  private readonly linkedBy = new Map<number, Set<string>>();
  private readonly sizes: Map<number, number>;
  readonly joins: Array<{ via: string; records: [number, number] }> = [];

  constructor(
    private readonly records: ClusterRecord[],
    private readonly limits: Record<string, number>,
  ) {
    this.sets = new UnionFind(records.length);
    this.sizes = new Map(records.map((_, i) => [i, 1]));
    this.limited = new Map(
      records.map((record, i) => {
        const values = new Map<string, Set<string>>();
        for (const key of Object.keys(limits)) values.set(key, new Set(record.keys[key] ?? []));
        return [i, values];
      }),
    );
  }

  find(index: number): number {
    return this.sets.find(index);
  }

  size(index: number): number {
    return this.sizes.get(this.find(index))!;
  }

  isLocked(index: number): boolean {
    return this.locked.has(this.find(index));
  }

  recordId(index: number): number {
    return this.records[index]!.id;
  }

  ids(edge: Edge): [number, number] {
    return [this.recordId(edge.a), this.recordId(edge.b)];
  }

  membersOf(root: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.records.length; i++) if (this.find(i) === root) out.push(i);
    return out;
  }

  minIndex(root: number): number {
    return this.membersOf(root)[0]!;
  }

  minId(root: number): number {
    return this.recordId(this.minIndex(root));
  }

  /** Joins the clusters of an edge unless that would give one of them too many key values. */
  tryUnion(edge: Edge, rule: string, events: ClusterEvent[]): boolean {
    const rootA = this.find(edge.a);
    const rootB = this.find(edge.b);
    if (rootA === rootB) return true;
    const valuesA = this.limited.get(rootA)!;
    const valuesB = this.limited.get(rootB)!;
    for (const [key, max] of Object.entries(this.limits)) {
      const union = new Set([...valuesA.get(key)!, ...valuesB.get(key)!]);
      if (union.size > max) {
        events.push({ kind: 'limit_refused', rule, key, records: this.ids(edge) });
        return false;
      }
    }
    this.sets.union(rootA, rootB);
    const root = this.find(rootA);
    const other = root === rootA ? rootB : rootA;
    for (const key of Object.keys(this.limits)) {
      for (const value of this.limited.get(other)!.get(key)!)
        this.limited.get(root)!.get(key)!.add(value);
    }
    this.sizes.set(root, this.sizes.get(rootA)! + this.sizes.get(rootB)!);
    const via = new Set([...(this.linkedBy.get(rootA) ?? []), ...(this.linkedBy.get(rootB) ?? [])]);
    via.add(`${rule}/${edge.via}`);
    this.joins.push({ via: `${rule}/${edge.via}`, records: this.ids(edge) });
    this.linkedBy.set(root, via);
    if (this.locked.has(rootA) || this.locked.has(rootB)) this.locked.add(root);
    return true;
  }

  /** After a rule set: every cluster it (or an earlier one) formed is locked. */
  lockFormedClusters(): void {
    for (let i = 0; i < this.records.length; i++) {
      const root = this.find(i);
      if (this.sizes.get(root)! > 1) this.locked.add(root);
    }
  }

  outcome(held: Set<number>, events: ClusterEvent[]): ClusterOutcome {
    const byRoot = new Map<number, number[]>();
    for (let i = 0; i < this.records.length; i++) {
      if (held.has(i)) continue;
      const root = this.find(i);
      const members = byRoot.get(root);
      if (members) members.push(i);
      else byRoot.set(root, [i]);
    }
    const groups = [...byRoot.entries()].sort((a, b) => a[1][0]! - b[1][0]!);
    return {
      clusters: groups.map(([, members]) => members.map((i) => this.recordId(i))),
      linkedBy: groups.map(([root]) => [...(this.linkedBy.get(root) ?? [])].sort()),
      ambiguous: [...held].map((i) => this.recordId(i)).sort((a, b) => a - b),
      events,
      joins: this.joins,
    };
  }
}
