import path from 'node:path';

import { parseConfig } from '../../config/load';

const BASE = `
database: { client: sqlite, filename: ':memory:' }
sources:
  crm: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^c', recordKey: id }
  shop: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^o', recordKey: id }
datasets:
  customers:
    sources: [crm]
    keys: [{ name: email, columns: [email], normalize: email }]
    links: { orders: { dataset: orders, field: customer_id } }
    computed: COMPUTED
    scores: { rfm: { link: orders, segments: SEGMENTS } }
  orders:
    kind: events
    sources: [shop]
    events: { customer: customer_id, date: date, amount: amount }
destinations:
  braze: { type: braze, endpoint: 'http://127.0.0.1:1', apiKey: { env: X } }
syncs:
  s: { dataset: customers, destination: braze, mapping: { segment: segment } }
`;

const config = (computed: string, segments = 'segments.yaml') =>
  BASE.replace('COMPUTED', computed).replace('SEGMENTS', segments);

describe('dataset preparation settings', () => {
  it('resolves a segments file against the config file folder', () => {
    const parsed = parseConfig(config('{}'), '/srv/braid/conf/braid.yaml');

    expect(parsed.datasets.customers!.scores!.rfm!.segments).toBe('/srv/braid/conf/segments.yaml');
  });

  it('keeps an absolute segments file as it is', () => {
    const parsed = parseConfig(config('{}', '/etc/braid/grid.yaml'), 'braid.yaml');

    expect(parsed.datasets.customers!.scores!.rfm!.segments).toBe('/etc/braid/grid.yaml');
  });

  it('resolves a relative config path from the working folder first', () => {
    const parsed = parseConfig(config('{}', 'rfm/grid.yaml'), 'conf/braid.yaml');

    expect(parsed.datasets.customers!.scores!.rfm!.segments).toBe(
      path.resolve('conf/rfm/grid.yaml'),
    );
  });

  it('rejects matches as a computed-field filter, naming the path', () => {
    const computed = `{ web: { link: orders, op: count, where: { column: channel, matches: '^w' } } }`;

    expect(() => parseConfig(config(computed), 'braid.yaml')).toThrow(
      'braid.yaml: datasets.customers.computed.web.where.matches: ' +
        'a computed-field filter takes equals, in or blank, not matches',
    );
  });

  it('accepts equals, in and blank as computed-field filters', () => {
    const computed = `{
      a: { link: orders, op: count, where: { column: channel, equals: web } },
      b: { link: orders, op: count, where: { column: channel, in: [web, shop] } },
      c: { link: orders, op: count, where: { column: channel, blank: true } } }`;

    const parsed = parseConfig(config(computed), 'braid.yaml');

    expect(Object.keys(parsed.datasets.customers!.computed)).toEqual(['a', 'b', 'c']);
  });
});
