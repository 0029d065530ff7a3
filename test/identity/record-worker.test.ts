import { DatasetConfig } from '../../config/schema';
import { BadInputError } from '../../connectors/errors';
import { surviveGolden } from '../../domain/identity/survive';
import { derivedMasterId } from '../../identity/master-ids';
import {
  clustersOf,
  entryAt,
  type BatchInput,
  type PageEntries,
  type RawRecord,
} from '../../identity/record-work';
import { recordThreads, startRecordWorker } from '../../identity/record-worker';

const DATASET = DatasetConfig.parse({
  sources: ['crm', 'shop'],
  keys: [
    { name: 'email', columns: ['email'], normalize: 'email' },
    { name: 'phone', columns: ['phone'], normalize: 'phone' },
  ],
  defaultCountry: 'FR',
  rules: [
    { name: 'exact', keys: ['email', 'phone'] },
    {
      name: 'names',
      block: ['last_name'],
      compare: [{ column: 'first_name', method: 'jaro_winkler', threshold: 0.9 }],
    },
  ],
  // A source-level recipe: its result, not the raw payload, is what gets indexed.
  recipes: [
    { type: 'derive', level: 'source', sources: ['shop'], column: 'email', expression: 'mail' },
  ],
});

const RECORDS: RawRecord[] = [
  {
    id: 1,
    source: 'crm',
    payload: JSON.stringify({
      email: ' Ana@Example.org',
      phone: '06 11 11 11 11',
      last_name: 'Lopez',
    }),
  },
  {
    id: 2,
    source: 'shop',
    payload: JSON.stringify({
      mail: 'ANA@example.org',
      phone: '',
      last_name: 'Lopez',
      first_name: 'Ana',
    }),
  },
  {
    id: 3,
    source: 'crm',
    payload: JSON.stringify({ email: 'info@example.org', phone: '0000000000' }),
  },
  { id: 4, source: 'crm', payload: JSON.stringify({}) },
];

/**
 * A page's entries with plain lists: typed arrays from another thread are of another realm than
 * jest's, and compare unequal to this one's.
 */
function plain(entries: PageEntries) {
  return {
    ...entries,
    counts: Array.from(entries.counts),
    keyAt: Array.from(entries.keyAt),
    kindAt: Array.from(entries.kindAt),
  };
}

describe('record worker', () => {
  it('gives the same index entries in a thread as inline', async () => {
    const inline = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 0);
    const thread = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 1);
    try {
      expect(inline.where).toBe('inline');
      // `npm test` compiles dist/ first, which holds the thread's script.
      expect(thread.where).toBe('thread');
      const [a, b] = await Promise.all([inline.normalize(RECORDS), thread.normalize(RECORDS)]);
      expect(plain(b)).toEqual(plain(a));
      expect(Array.from(a.counts)).toEqual([3, 2, 1, 0]);
      // Key names once each, in the order met.
      expect(a.keyNames).toEqual(['email', 'phone', '~names']);
      const labels = a.values
        .map((_, i) => entryAt(a, i))
        .map((e) => `${e.kind} ${e.key}=${e.value}`);
      expect(labels).toEqual([
        'link email=ana@example.org',
        'link phone=+33611111111',
        'block ~names=lopez',
        'link email=ana@example.org',
        'block ~names=lopez',
        'role email=info@example.org',
      ]);
    } finally {
      await Promise.all([inline.close(), thread.close()]);
    }
  });

  it('does requests itself while the thread holds two, with the same results', async () => {
    const inline = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 0);
    const thread = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 1);
    try {
      const pages = [...RECORDS, ...RECORDS].map((record) => [record]);
      // Asked at once: the thread holds the first two, so this thread does the other six.
      const shared = await Promise.all(pages.map((page) => thread.normalize(page)));
      expect(thread.doneHere).toBe(6);
      const alone = await Promise.all(pages.map((page) => inline.normalize(page)));
      expect(shared.map(plain)).toEqual(alone.map(plain));
      expect(inline.doneHere).toBe(0);
    } finally {
      await Promise.all([inline.close(), thread.close()]);
    }
  });

  it('clusters a batch in a thread as inline: golden attributes, founders and joins', async () => {
    // Positions 0 and 1 share an email; 2 is alone.
    const batch: BatchInput = {
      ids: [1, 2, 3],
      sources: ['crm', 'shop', 'crm'],
      recordKeys: ['c1', 's1', 'c3'],
      payloads: RECORDS.slice(0, 3).map((r) => r.payload),
      recencies: [1000, 2000, 1500],
      components: [[0, 1], [2]],
    };
    const inline = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 0);
    const thread = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 1);
    try {
      const [a, b] = await Promise.all([inline.cluster(batch), thread.cluster(batch)]);
      // Typed arrays from the thread are of another realm than jest's: compared as objects.
      expect(clustersOf(b)).toEqual(clustersOf(a));
      expect([b.events, b.joins]).toEqual([a.events, a.joins]);
      expect(clustersOf(a)).toEqual([
        {
          members: [1, 2],
          linkedBy: ['exact/email'],
          // Most recent wins (the default): the shop record, newer, keeps its blank phone.
          attributes: JSON.stringify({
            mail: 'ANA@example.org',
            phone: '',
            last_name: 'Lopez',
            first_name: 'Ana',
            email: 'ANA@example.org',
          }),
          sourceKeys: '["crm:c1","shop:s1"]',
          founder: 'crm:c1',
          derivedId: derivedMasterId('customers', 'crm:c1', 0),
        },
        {
          members: [3],
          linkedBy: [],
          // Alone, from a source without recipes: its payload as staged, which the caller holds.
          attributes: null,
          sourceKeys: '["crm:c3"]',
          founder: 'crm:c3',
          derivedId: derivedMasterId('customers', 'crm:c3', 0),
        },
      ]);
      expect(a.joins).toEqual([{ via: 'exact/email', records: [1, 2] }]);
      // As it crosses between threads: flat lists, members by start.
      expect(Array.from(b.starts)).toEqual([0, 2, 3]);
      expect(Array.from(b.members)).toEqual([1, 2, 3]);
      expect(b.linkedBy).toEqual(['["exact/email"]', '[]']);
      expect(b.founders).toEqual(['crm:c1', 'crm:c3']);
    } finally {
      await Promise.all([inline.close(), thread.close()]);
    }
  });

  it('gives a golden record of one member the attributes the general path gives', async () => {
    // Staging writes payloads with JSON.stringify; these are the awkward cases for taking one
    // as it is: integer-like columns (which objects order first), escapes, a lone surrogate,
    // blanks and spaces that other rules would trim.
    const tricky = [
      { '2': 'b', email: ' Ana@Example.org ', '10': 'a', note: 'line\nbreak "quoted" \\ tab\t' },
      { name: 'Zoë 😀', broken: '\ud800', phone: '' },
      { email: 'bob@example.org', 'key with space': '  padded  ', constructor: ' ', valueOf: '' },
    ].map((values) => JSON.stringify(values));
    // A real `__proto__` column (an object literal would set the prototype instead).
    tricky.push('{"__proto__":"x","email":"c@example.org"}');
    const batch = (sources: string[]): BatchInput => ({
      ids: [1, 2, 3, 4],
      sources,
      recordKeys: ['a', 'b', 'c', 'd'],
      payloads: tricky,
      recencies: [1, 2, 3, 4],
      components: [[0], [1], [2], [3]],
    });
    const general = (dataset: DatasetConfig, at: number, values = JSON.parse(tricky[at]!)) =>
      JSON.stringify(
        surviveGolden(
          [{ id: at + 1, source: 'crm', recencyMs: at + 1, values }],
          dataset.survivorship,
        ),
      );
    const byRule = DatasetConfig.parse({
      ...DATASET,
      survivorship: { default: 'most_recent', columns: { email: 'max' } },
    });
    const workers = [DATASET, byRule].map((dataset) =>
      startRecordWorker({ dataset, name: 'customers', joinSample: 10 }, 0),
    );
    try {
      // Kept as staged: no attributes come back, the caller takes the payload it holds, which
      // is what the general path gives.
      const asStaged = await workers[0]!.cluster(batch(['crm', 'crm', 'crm', 'crm']));
      expect(clustersOf(asStaged).map((c) => c.attributes)).toEqual([null, null, null, null]);
      expect(tricky).toEqual([0, 1, 2, 3].map((at) => general(DATASET, at)));
      // So the caller need not send those payloads either: the rest of the answer is the same.
      const blank = await workers[0]!.cluster({
        ...batch(['crm', 'crm', 'crm', 'crm']),
        payloads: ['', '', '', ''],
      });
      expect(blank).toEqual(asStaged);
      // A rule that changes values (max trims) and a source with a recipe take the general path.
      const trimmed = await workers[1]!.cluster(batch(['crm', 'crm', 'crm', 'crm']));
      expect(JSON.parse(clustersOf(trimmed)[0]!.attributes!).email).toBe('Ana@Example.org');
      expect(clustersOf(trimmed).map((c) => c.attributes)).toEqual(
        [0, 1, 2, 3].map((at) => general(byRule, at)),
      );
      const derived = await workers[0]!.cluster(batch(['shop', 'crm', 'shop', 'crm']));
      // The shop's recipe sets email from `mail`, which this payload lacks: the staged value goes.
      expect(JSON.parse(clustersOf(derived)[0]!.attributes!)).toHaveProperty('email', '');
      expect(clustersOf(derived).map((c) => c.attributes === null)).toEqual([
        false,
        true,
        false,
        true,
      ]);
      expect(clustersOf(derived).map((c) => c.founder)).toEqual([
        'shop:a',
        'crm:b',
        'shop:c',
        'crm:d',
      ]);
      expect(clustersOf(derived).map((c) => c.sourceKeys)).toEqual([
        '["shop:a"]',
        '["crm:b"]',
        '["shop:c"]',
        '["crm:d"]',
      ]);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });

  it('answers queued pages in order, and a bad page with its own error', async () => {
    const thread = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 1);
    try {
      const first = thread.normalize(RECORDS.slice(0, 1));
      const bad = thread.normalize([{ id: 9, source: 'crm', payload: '{"email": ' }]);
      const last = thread.normalize(RECORDS.slice(2, 3));
      expect(Array.from((await first).counts)).toEqual([3]);
      // Named by record and source, final (BadInputError: a retry reads the same row), and its
      // content not quoted.
      await expect(bad).rejects.toMatchObject({
        name: 'BadInputError',
        retryable: false,
        message: expect.stringMatching(
          /^source record 9 \(crm\): its stored payload is not JSON: /,
        ),
      });
      await expect(bad).rejects.toBeInstanceOf(BadInputError);
      expect((await last).values).toEqual(['info@example.org']);
    } finally {
      await thread.close();
    }
  });

  it('rejects pages still queued when closed, and the ones asked for after', async () => {
    const thread = startRecordWorker({ dataset: DATASET, name: 'customers', joinSample: 10 }, 1);
    // A rebuild that fails stops awaiting pages it queued ahead: none of these may surface as
    // an unhandled rejection (jest would fail the run), yet each still rejects when awaited.
    // Two: a third would be done at once in this thread (see the test above).
    const queued = Array.from({ length: 2 }, () => thread.normalize(RECORDS));
    expect(thread.doneHere).toBe(0);
    await thread.close();
    for (const page of queued)
      await expect(page).rejects.toThrow(
        'the record thread was closed before this request was done',
      );
    await expect(thread.normalize(RECORDS)).rejects.toThrow('the record thread was closed');
  });

  it.each([0, 1])(
    'never leaves an unhandled rejection for a request asked ahead (threads %i)',
    async (threads) => {
      // A rebuild asks for page N+1 before awaiting page N; when N fails it never awaits N+1.
      const unhandled: unknown[] = [];
      const note = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', note);
      const worker = startRecordWorker(
        { dataset: DATASET, name: 'customers', joinSample: 10 },
        threads,
      );
      try {
        const bad = [{ id: 9, source: 'crm', payload: '{"email": ' }];
        const first = worker.normalize(bad);
        // Left unawaited on purpose, as the rebuild leaves it.
        void worker.normalize(bad);
        await expect(first).rejects.toThrow(/JSON/);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', note);
        await worker.close();
      }
    },
  );

  it('reads BRAID_IDENTITY_THREADS: 0 or 1', () => {
    expect(recordThreads({ BRAID_IDENTITY_THREADS: '0' })).toBe(0);
    expect(recordThreads({ BRAID_IDENTITY_THREADS: '1' })).toBe(1);
    expect(() => recordThreads({ BRAID_IDENTITY_THREADS: 'yes' })).toThrow(
      'BRAID_IDENTITY_THREADS must be 0 or 1, not "yes"',
    );
  });
});
