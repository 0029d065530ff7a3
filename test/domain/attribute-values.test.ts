import type { BrazeAttribute } from '../../config/schema';
import { toDestinationAttributes } from '../../domain/attribute-values';

const DECLARED: BrazeAttribute[] = [
  { name: 'email', type: 'string', requiredForSync: true },
  { name: 'orders', type: 'number', requiredForSync: false },
  { name: 'vip', type: 'boolean', requiredForSync: false },
  { name: 'dob', type: 'date', requiredForSync: false },
  { name: 'tags', type: 'array', requiredForSync: false },
];

function convert(name: string, raw: string) {
  return toDestinationAttributes(
    { f: raw, email: 'a@example.org' },
    { email: 'email', [name]: 'f' },
    DECLARED,
  );
}

describe('toDestinationAttributes', () => {
  it('maps golden fields to attribute names and converts declared types', () => {
    const golden = {
      email: 'lea@example.org',
      order_count: ' 12 ',
      is_vip: 'Yes',
      birth: '29/10/2015',
      labels: 'gold; newsletter |  sms,',
      city: 'Leeds',
      unmapped: 'ignored',
    };
    const mapping = {
      email: 'email',
      orders: 'order_count',
      vip: 'is_vip',
      dob: 'birth',
      tags: 'labels',
      home_city: 'city',
    };

    const result = toDestinationAttributes(golden, mapping, DECLARED);

    expect(result).toEqual({
      ok: true,
      attributes: {
        email: 'lea@example.org',
        orders: 12,
        vip: true,
        dob: '2015-10-29',
        tags: ['gold', 'newsletter', 'sms'],
        home_city: 'Leeds',
      },
    });
  });

  it.each([
    ['orders', '3.5', 3.5],
    ['orders', '-2', -2],
    ['orders', '0', 0],
    ['vip', 'TRUE', true],
    ['vip', '1', true],
    ['vip', 'y', true],
    ['vip', 'no', false],
    ['vip', '0', false],
    ['vip', 'N', false],
    ['dob', '2015-10-29', '2015-10-29'],
    ['dob', '20151029', '2015-10-29'],
    ['dob', '2015-10-29T23:10:00Z', '2015-10-29'],
    ['tags', 'one', ['one']],
  ])('converts %s %p to %p', (name, raw, expected) => {
    expect(convert(name, raw)).toEqual({
      ok: true,
      attributes: { email: 'a@example.org', [name]: expected },
    });
  });

  it.each([
    ['orders', 'twelve', 'orders: "twelve" is not a number'],
    ['orders', 'Infinity', 'orders: "Infinity" is not a number'],
    ['orders', '0b11', 'orders: "0b11" is not a number'],
    ['vip', 'maybe', 'vip: "maybe" is not a boolean'],
    ['dob', '2015-02-30', 'dob: "2015-02-30" is not a date'],
    ['dob', 'hello 1', 'dob: "hello 1" is not a date'],
    ['dob', '7', 'dob: "7" is not a date'],
    ['dob', '12/31/2020', 'dob: "12/31/2020" is not a date'],
  ])('refuses %s %p with a reason', (name, raw, reason) => {
    expect(convert(name, raw)).toEqual({ ok: false, reason });
  });

  it.each(['', '   '])('sends %p as null to unset an optional attribute', (raw) => {
    expect(convert('orders', raw)).toEqual({
      ok: true,
      attributes: { email: 'a@example.org', orders: null },
    });
  });

  it('sends a field missing from the golden record as null', () => {
    const result = toDestinationAttributes(
      { email: 'a@example.org' },
      { email: 'email', vip: 'vip' },
      DECLARED,
    );

    expect(result).toEqual({ ok: true, attributes: { email: 'a@example.org', vip: null } });
  });

  it.each([
    ['blank', { email: ' ' }],
    ['missing', {}],
  ])('refuses a record whose required attribute is %s', (_, golden) => {
    const result = toDestinationAttributes(golden, { email: 'email', vip: 'vip' }, DECLARED);

    expect(result).toEqual({ ok: false, reason: 'email: required for sync but empty' });
  });

  it('sends undeclared attributes as trimmed strings', () => {
    const result = toDestinationAttributes({ c: ' 0042 ' }, { code: 'c' }, []);

    expect(result).toEqual({ ok: true, attributes: { code: '0042' } });
  });
});
