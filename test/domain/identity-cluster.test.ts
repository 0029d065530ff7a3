import { DatasetConfig } from '../../config/schema';
import {
  clusterComponent,
  type ClusterRecord,
  type IdentityPlan,
} from '../../domain/identity/cluster';
import { compileIdentity } from '../../domain/identity/key-values';

/** A dataset config as a user would write it, parsed by the real schema. */
function dataset(extra: Record<string, unknown>) {
  return DatasetConfig.parse({ sources: ['crm'], ...extra });
}

/** Clusters rows (ids 1..n in order) and returns clusters as lists of row ids. */
function clusterRows(config: ReturnType<typeof dataset>, rows: Array<Record<string, string>>) {
  const identity = compileIdentity(config);
  const records: ClusterRecord[] = rows.map((values, i) => {
    const { blocks: _blocks, ...rest } = identity.identify(values);
    return { id: i + 1, ...rest };
  });
  return clusterComponent(records, identity.plan);
}

const EMAIL_PHONE = dataset({
  keys: [
    { name: 'email', columns: ['email'], normalize: 'email' },
    { name: 'phone', columns: ['phone'], normalize: 'phone' },
  ],
  defaultCountry: 'FR',
});

describe('clusterComponent', () => {
  it('links transitively: A~B by email and B~C by phone make one person', () => {
    const outcome = clusterRows(EMAIL_PHONE, [
      { email: 'ana@example.org', phone: '' },
      { email: 'ANA@example.org ', phone: '06 12 34 56 78' },
      { email: 'other@example.org', phone: '+33 6 12 34 56 78' },
      { email: 'bob@example.org', phone: '' },
    ]);
    expect(outcome.clusters).toEqual([[1, 2, 3], [4]]);
    expect(outcome.linkedBy[0]).toEqual(['exact/email', 'exact/phone']);
  });

  it('never links on placeholders, so a crowd sharing them stays apart', () => {
    const rows = [];
    for (let i = 0; i < 40; i++) {
      const email = ['test@test.com', 'n/a', 'null', 'unknown', ''][i % 5]!;
      const phone = ['0000000000', '1111111111', '-1', '0', 'NA'][i % 5]!;
      rows.push({ email, phone });
    }
    const outcome = clusterRows(EMAIL_PHONE, rows);
    expect(outcome.clusters).toHaveLength(40);
    expect(outcome.ambiguous).toEqual([]);
  });

  it('applies user-blocked values and patterns per key and for the dataset', () => {
    const config = dataset({
      keys: [
        { name: 'email', columns: ['email'], normalize: 'email', blocked: ['/^shop@/'] },
        { name: 'customer_id', columns: ['customer_id'] },
      ],
      blockedValues: ['WALK-IN'],
    });
    const outcome = clusterRows(config, [
      { email: 'shop@store.example', customer_id: 'walk-in' },
      { email: 'shop@store.example', customer_id: 'Walk-In' },
      { email: 'x@store.example', customer_id: 'C1' },
      { email: 'y@store.example', customer_id: 'c1' },
    ]);
    expect(outcome.clusters).toEqual([[1], [2], [3, 4]]);
  });

  it('BL-15: a shared role mailbox never merges people; the email-only record is held', () => {
    const outcome = clusterRows(EMAIL_PHONE, [
      { email: 'contact@bistro-lune.example', phone: '+33611111111' },
      { email: 'contact@bistro-lune.example', phone: '+33622222222' },
      { email: 'contact@bistro-lune.example', phone: '' },
    ]);
    expect(outcome.clusters).toEqual([[1], [2]]);
    expect(outcome.ambiguous).toEqual([3]);
    expect(outcome.events).toEqual([
      { kind: 'ambiguous', rule: 'role-address', record: 3, candidates: [1, 2] },
    ]);
  });

  it('refuses a merge that breaks a key limit and records it; others still link', () => {
    const config = dataset({
      keys: [
        { name: 'email', columns: ['email'], normalize: 'email' },
        { name: 'customer_id', columns: ['customer_id'], maxValues: 1 },
      ],
    });
    const outcome = clusterRows(config, [
      { email: 'pat@example.org', customer_id: 'C1' },
      { email: 'pat@example.org', customer_id: 'C2' },
      { email: 'pat@example.org', customer_id: '' },
      { email: 'sam@example.org', customer_id: 'C2' },
    ]);
    // 1 and 3 share the email; 2 cannot join them (two customer ids) but shares C2 with 4.
    expect(outcome.clusters).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(outcome.events).toEqual([
      { kind: 'limit_refused', rule: 'exact', key: 'customer_id', records: [1, 2] },
    ]);
  });

  it('allows up to N values of a key: five emails yes, a sixth no', () => {
    const config = dataset({
      keys: [
        { name: 'email', columns: ['email'], normalize: 'email', maxValues: 5 },
        { name: 'customer_id', columns: ['customer_id'] },
      ],
    });
    const rows = [1, 2, 3, 4, 5, 6].map((n) => ({ email: `p${n}@example.org`, customer_id: 'C9' }));
    const outcome = clusterRows(config, rows);
    expect(outcome.clusters).toEqual([[1, 2, 3, 4, 5], [6]]);
    expect(outcome.events.filter((e) => e.kind === 'limit_refused')).toHaveLength(1);
  });

  describe('rule sets in order', () => {
    const config = dataset({
      keys: [{ name: 'email', columns: ['email'], normalize: 'email' }],
      rules: [
        { name: 'exact', keys: ['email'] },
        {
          name: 'fuzzy',
          block: ['dob'],
          compare: [
            { column: 'last_name', method: 'jaro_winkler', threshold: 0.9 },
            { column: 'first_name', method: 'jaro_winkler', threshold: 0.85 },
          ],
        },
      ],
    });

    it('a fuzzy rule attaches a record to the one locked cluster it resembles', () => {
      const outcome = clusterRows(config, [
        {
          email: 'j.martin@example.org',
          first_name: 'Jeanne',
          last_name: 'Martin',
          dob: '1990-04-02',
        },
        {
          email: 'jeanne@example.org',
          first_name: 'Jeanne',
          last_name: 'Martin',
          dob: '1990-04-02',
        },
        { email: 'jm@example.org', first_name: 'Jeanne', last_name: 'Martin', dob: '1990-04-02' },
        { email: '', first_name: 'Jeane', last_name: 'Martinn', dob: '02/04/1990' },
      ]);
      // 1, 2 and 3 have different emails, so no exact rule joins them; all four look alike.
      // The fuzzy rule may join unlocked records freely: all are singletons after rule 1.
      expect(outcome.clusters).toEqual([[1, 2, 3, 4]]);
      expect(outcome.linkedBy[0]).toEqual(['fuzzy/fuzzy']);
    });

    it('never merges two locked clusters, and holds a record that fits both', () => {
      const outcome = clusterRows(config, [
        { email: 'a@example.org', first_name: 'Jeanne', last_name: 'Martin', dob: '1990-04-02' },
        { email: 'a@example.org', first_name: '', last_name: '', dob: '' },
        { email: 'b@example.org', first_name: 'Jeanne', last_name: 'Martin', dob: '1990-04-02' },
        { email: 'b@example.org', first_name: '', last_name: '', dob: '' },
        { email: '', first_name: 'Jeanne', last_name: 'Martine', dob: '1990-04-02' },
        { email: 'c@example.org', first_name: 'Paul', last_name: 'Durand', dob: '1990-04-02' },
      ]);
      expect(outcome.clusters).toEqual([[1, 2], [3, 4], [6]]);
      expect(outcome.ambiguous).toEqual([5]);
      expect(outcome.events).toEqual([
        { kind: 'lock_refused', rule: 'fuzzy', records: [1, 3] },
        { kind: 'ambiguous', rule: 'fuzzy', record: 5, candidates: [1, 3] },
      ]);
    });

    it('attaches to a single locked cluster', () => {
      const outcome = clusterRows(config, [
        { email: 'a@example.org', first_name: 'Jeanne', last_name: 'Martin', dob: '1990-04-02' },
        { email: 'a@example.org', first_name: '', last_name: '', dob: '' },
        { email: '', first_name: 'Jeane', last_name: 'Martin', dob: '1990-04-02' },
      ]);
      expect(outcome.clusters).toEqual([[1, 2, 3]]);
      expect(outcome.linkedBy[0]).toEqual(['exact/email', 'fuzzy/fuzzy']);
    });
  });

  it('holds a record between two locked clusters after another group joined one of them', () => {
    // Rule one locks {1,2} and {3,4}. Under rule two the free trio {5,6,7} joins {1,2} (7 shares
    // q with 1), which can move that cluster's root; 8 then links both locked clusters (t with
    // 2, u with 4) and must be held as ambiguous, not crash on the moved root.
    const rec = (id: number, keys: Record<string, string[]>): ClusterRecord => ({
      id,
      keys,
      roles: [],
      columns: {},
    });
    const records = [
      rec(1, { a: ['x'], b: ['q'] }),
      rec(2, { a: ['x'], b: ['t'] }),
      rec(3, { a: ['y'] }),
      rec(4, { a: ['y'], b: ['u'] }),
      rec(5, { b: ['p'] }),
      rec(6, { b: ['p'] }),
      rec(7, { b: ['p', 'q'] }),
      rec(8, { b: ['t', 'u'] }),
    ];
    const plan: IdentityPlan = {
      rules: [
        { name: 'one', kind: 'exact', keys: ['a'] },
        { name: 'two', kind: 'exact', keys: ['b'] },
      ],
      limits: {},
    };
    const outcome = clusterComponent(records, plan);
    expect(outcome.clusters).toEqual([
      [1, 2, 5, 6, 7],
      [3, 4],
    ]);
    expect(outcome.ambiguous).toEqual([8]);
    expect(outcome.events).toEqual([
      { kind: 'ambiguous', rule: 'two', record: 8, candidates: [1, 3] },
    ]);
  });

  it('does not depend on the order records arrive in', () => {
    const rows: ClusterRecord[] = randomRecords(7, 60);
    const plan: IdentityPlan = {
      rules: [{ name: 'exact', kind: 'exact', keys: ['k1', 'k2', 'k3'] }],
      limits: { k3: 1 },
    };
    const forward = clusterComponent(rows, plan);
    const backward = clusterComponent([...rows].reverse(), plan);
    expect(backward).toEqual(forward);
  });

  it('gives each component the same clusters alone as inside the whole set', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rows = randomRecords(seed, 80);
      const plan: IdentityPlan = {
        rules: [{ name: 'exact', kind: 'exact', keys: ['k1', 'k2', 'k3'] }],
        limits: { k2: 2 },
      };
      const whole = clusterComponent(rows, plan).clusters;
      const pieces = componentsOf(rows).flatMap((part) => clusterComponent(part, plan).clusters);
      expect(sortClusters(pieces)).toEqual(sortClusters(whole));
    }
  });
});

/** Deterministic pseudo-random records over small value domains, so many values collide. */
function randomRecords(seed: number, n: number): ClusterRecord[] {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return Array.from({ length: n }, (_, i) => {
    const keys: Record<string, string[]> = {};
    for (const key of ['k1', 'k2', 'k3'])
      if (next() < 0.5) keys[key] = [`${key}-${Math.floor(next() * 25)}`];
    return { id: i + 1, keys, roles: [], columns: {} };
  });
}

function componentsOf(records: ClusterRecord[]): ClusterRecord[][] {
  const owner = new Map<string, number>();
  const parent = records.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  records.forEach((record, i) => {
    for (const [key, values] of Object.entries(record.keys)) {
      for (const value of values) {
        const holder = owner.get(`${key}=${value}`);
        if (holder === undefined) owner.set(`${key}=${value}`, i);
        else parent[find(i)] = find(holder);
      }
    }
  });
  const groups = new Map<number, ClusterRecord[]>();
  records.forEach((record, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), record]));
  return [...groups.values()];
}

function sortClusters(clusters: number[][]): number[][] {
  return clusters.map((c) => [...c].sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
}
