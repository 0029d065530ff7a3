import YAML from 'yaml';

import { parseConfig } from '../../config/load';
import { exportKey, exportSettingsHash } from '../../config/sync-events';
import { ConfigError } from '../../connectors/errors';
import { shopConfigDoc } from '../support/shop-config';

const FILE = '/etc/braid/braid.yaml';

/** Customers linked to orders, synced with the exports a test gives. */
function config(events: unknown[]): Record<string, any> {
  return shopConfigDoc({ events });
}

function parse(events: unknown[]) {
  return parseConfig(YAML.stringify(config(events)), FILE);
}

function problem(events: unknown[], change: (c: Record<string, any>) => void = () => {}): string {
  const broken = config(events);
  change(broken);
  try {
    parseConfig(YAML.stringify(broken), FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('syncs.<id>.events', () => {
  it('parses a purchase export with its defaults, and a custom event export', () => {
    const parsed = parse([
      {
        link: 'orders',
        as: 'purchase',
        productId: { value: 'cd' },
        quantity: 'cds',
        since: '1998-04-01',
      },
      { link: 'orders', as: 'event', name: 'order_placed', properties: { cds: 'cds' } },
    ]);

    const [purchase, event] = parsed.syncs.s!.events;
    expect(purchase).toEqual({
      link: 'orders',
      as: 'purchase',
      productId: { value: 'cd' },
      quantity: 'cds',
      since: '1998-04-01',
      properties: {},
    });
    expect(exportKey(purchase!)).toBe('purchase:orders:cd');
    expect(exportKey(event!)).toBe('event:orders:order_placed');
  });

  it('upper-cases a fixed currency as it does a row value, and still refuses an unknown one', () => {
    const purchase = { link: 'orders', as: 'purchase', productId: { value: 'cd' } };
    const parsed = parse([{ ...purchase, currency: { value: 'eur' } }]);

    expect(parsed.syncs.s!.events[0]!.currency).toEqual({ value: 'EUR' });
    expect(problem([{ ...purchase, currency: { value: 'eurx' } }])).toContain(
      'syncs.s.events.0.currency.value: "EURX" is not an ISO 4217 currency code such as USD',
    );
  });

  it('hashes what an export sends, not since', () => {
    const base = { link: 'orders', as: 'purchase', productId: { value: 'cd' }, quantity: 'qtty' };
    const hash = (changes: Record<string, unknown>, fields: Record<string, string> = {}) => {
      const exp = parse([{ ...base, ...changes }]).syncs.s!.events[0]!;
      return exportSettingsHash(exp, { fields, events: { amount: 'amount' } });
    };
    const first = hash({});

    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(hash({ since: '1998-04-01' })).toBe(first);
    expect(hash({ currency: { value: 'usd' } })).toBe(hash({ currency: { value: 'USD' } }));
    // The price defaults to the events' amount column: naming it changes nothing sent.
    expect(hash({ price: 'amount' })).toBe(first);
    const changed = [
      hash({ quantity: 'qty' }),
      hash({ price: 'total' }),
      hash({ currency: { value: 'EUR' } }),
      hash({ productId: { column: 'sku' } }),
      hash({ properties: { cds: 'cds' } }),
      hash({ properties: { cds: 'cds' } }, { cds: 'number' }),
    ];
    expect(new Set([first, ...changed]).size).toBe(1 + changed.length);
  });

  it('defaults to no exports', () => {
    const plain = config([]);
    delete plain.syncs.s.events;

    expect(parseConfig(YAML.stringify(plain), FILE).syncs.s!.events).toEqual([]);
  });

  it.each([
    [{ link: 'orders', as: 'event' }, 'syncs.s.events.0.name: a custom event export needs a name'],
    [
      { link: 'orders', as: 'purchase' },
      'syncs.s.events.0.productId: a purchase export needs productId',
    ],
    [
      { link: 'orders', as: 'event', name: 'x', quantity: 'cds' },
      'syncs.s.events.0.quantity: only a purchase export (as: purchase) takes it',
    ],
    [
      { link: 'orders', as: 'purchase', productId: { value: 'cd' }, currency: { value: 'DOLLAR' } },
      'syncs.s.events.0.currency.value: "DOLLAR" is not an ISO 4217 currency code such as USD',
    ],
    [
      { link: 'orders', as: 'event', name: 'x', properties: { time: 'date' } },
      'syncs.s.events.0.properties.time: Braze refuses this property name',
    ],
    [
      { link: 'orders', as: 'event', name: 'x', since: '1998-13-45' },
      'syncs.s.events.0.since: is not a date',
    ],
    [
      { link: 'returns', as: 'event', name: 'x' },
      'syncs.s.events.0.link: no link "returns" on dataset "customers"',
    ],
  ])('reports %j with its path', (exp, message) => {
    expect(problem([exp])).toContain(message);
  });

  it('reports a link to a dataset that is not of events', () => {
    // The link itself is refused by the dataset checks too; the export names its own path.
    const text = problem([{ link: 'self', as: 'event', name: 'x' }], (c) => {
      c.datasets.customers.links.self = { dataset: 'customers', field: 'x' };
    });

    expect(text).toContain(
      'syncs.s.events.0.link: link "self" does not point at an events dataset',
    );
  });

  it('reports a purchase export without a price when the events declare no amount', () => {
    const text = problem([{ link: 'orders', as: 'purchase', productId: { value: 'cd' } }], (c) => {
      delete c.datasets.orders.events.amount;
    });

    expect(text).toContain(
      'syncs.s.events.0.price: dataset "orders" declares no amount column: set price',
    );
  });

  it('reports two exports that would share one ledger', () => {
    const same = { link: 'orders', as: 'purchase', productId: { value: 'cd' } };

    expect(problem([same, { ...same, price: 'amount' }])).toContain(
      'syncs.s.events.1: sends the same purchase as events.0',
    );
  });
});
