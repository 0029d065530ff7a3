import { DatasetConfig } from '../../config/schema';
import type { RawRecord } from '../../identity/normalizer';
import { normalizerThreads, startNormalizer } from '../../identity/normalizer-pool';

const DATASET = DatasetConfig.parse({
  sources: ['crm', 'shop'],
  keys: [
    { name: 'email', columns: ['email'], normalize: 'email' },
    { name: 'phone', columns: ['phone'], normalize: 'phone' },
  ],
  defaultCountry: 'FR',
  rules: [
    { name: 'exact', keys: ['email', 'phone'] },
    { name: 'names', block: ['last_name'], compare: [{ column: 'first_name', method: 'jaro_winkler', threshold: 0.9 }] },
  ],
  // A source-level recipe: its result, not the raw payload, is what gets indexed.
  recipes: [{ type: 'derive', level: 'source', sources: ['shop'], column: 'email', expression: 'mail' }],
});

const RECORDS: RawRecord[] = [
  { id: 1, source: 'crm', payload: JSON.stringify({ email: ' Ana@Example.org', phone: '06 11 11 11 11', last_name: 'Lopez' }) },
  { id: 2, source: 'shop', payload: JSON.stringify({ mail: 'ANA@example.org', phone: '', last_name: 'Lopez', first_name: 'Ana' }) },
  { id: 3, source: 'crm', payload: JSON.stringify({ email: 'info@example.org', phone: '0000000000' }) },
  { id: 4, source: 'crm', payload: JSON.stringify({}) },
];

describe('normalizer', () => {
  it('gives the same index entries in a thread as inline', async () => {
    const inline = startNormalizer(DATASET, 'customers', 0);
    const thread = startNormalizer(DATASET, 'customers', 1);
    try {
      expect(inline.where).toBe('inline');
      // `npm test` compiles dist/ first, which holds the thread's script.
      expect(thread.where).toBe('thread');
      const [a, b] = await Promise.all([inline.run(RECORDS), thread.run(RECORDS)]);
      // Typed arrays from another thread are of another realm than jest's: compared as lists.
      expect({ ...b, counts: Array.from(b.counts) }).toEqual({ ...a, counts: Array.from(a.counts) });
      expect(Array.from(a.counts)).toEqual([3, 2, 1, 0]);
      expect(a.keys.map((k, i) => `${a.kinds[i]} ${k}=${a.values[i]}`)).toEqual([
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

  it('answers queued pages in order, and a bad page with its own error', async () => {
    const thread = startNormalizer(DATASET, 'customers', 1);
    try {
      const first = thread.run(RECORDS.slice(0, 1));
      const bad = thread.run([{ id: 9, source: 'crm', payload: '{"email": ' }]);
      const last = thread.run(RECORDS.slice(2, 3));
      expect(Array.from((await first).counts)).toEqual([3]);
      await expect(bad).rejects.toThrow(/JSON/);
      expect((await last).values).toEqual(['info@example.org']);
    } finally {
      await thread.close();
    }
  });

  it('rejects pages still queued when closed, and the ones asked for after', async () => {
    const thread = startNormalizer(DATASET, 'customers', 1);
    // A rebuild that fails stops awaiting pages it queued ahead: none of these may surface as
    // an unhandled rejection (jest would fail the run), yet each still rejects when awaited.
    const queued = Array.from({ length: 5 }, () => thread.run(RECORDS));
    await thread.close();
    for (const page of queued) await expect(page).rejects.toThrow('the normalizer was closed before this page was done');
    await expect(thread.run(RECORDS)).rejects.toThrow('the normalizer was closed');
  });

  it('reads BRAID_IDENTITY_THREADS: 0 or 1', () => {
    expect(normalizerThreads({ BRAID_IDENTITY_THREADS: '0' })).toBe(0);
    expect(normalizerThreads({ BRAID_IDENTITY_THREADS: '1' })).toBe(1);
    expect(() => normalizerThreads({ BRAID_IDENTITY_THREADS: 'yes' })).toThrow(
      'BRAID_IDENTITY_THREADS must be 0 or 1, not "yes"',
    );
  });
});
