import type { FieldType } from '../../config/schema';
import { validateRow } from '../../domain/validate-row';

const FIELDS: Record<string, FieldType> = {
  email: 'email',
  dob: 'date',
  orders: 'number',
  vip: 'boolean',
  phone: 'phone',
  first_name: 'string',
};

describe('validateRow', () => {
  it('trims every value, lower-cases emails and writes dates in ISO form', () => {
    const row = {
      unique_id: ' 4 ',
      first_name: 'oNah ',
      email: ' Matthew78@Ballard-McDonald.net ',
      dob: '23/03/2008',
      orders: ' 3 ',
      vip: ' Yes ',
      phone: ' +44 20 7946 0018 ',
      city: ' Bolton',
    };

    const result = validateRow(row, FIELDS);

    expect(result).toEqual({
      ok: true,
      values: {
        unique_id: '4',
        first_name: 'oNah',
        email: 'matthew78@ballard-mcdonald.net',
        dob: '2008-03-23',
        orders: '3',
        vip: 'Yes',
        phone: '+44 20 7946 0018',
        city: 'Bolton',
      },
    });
  });

  it('accepts blank and missing typed values as missing', () => {
    const result = validateRow({ email: '  ', dob: '' }, FIELDS);

    expect(result).toEqual({ ok: true, values: { email: '', dob: '' } });
  });

  it.each(['hannah88opowersc@m', 'matthbw78eallard-mcdonald.net', 'a b@example.org', 'N/A'])(
    'rejects the malformed email %p without repeating it',
    (email) => {
      const result = validateRow({ email, dob: '2015-10-29' }, FIELDS);

      expect(result).toEqual({ ok: false, field: 'email', reason: 'malformed email' });
      expect(JSON.stringify(result)).not.toContain(email);
    },
  );

  it.each([
    ['2025-12-31T23:59:59-01:00', '2026-01-01T00:59:59.000Z'],
    ['2025-12-31 23:59:59+0530', '2025-12-31T18:29:59.000Z'],
    ['2026-01-05 08:15:00', '2026-01-05T08:15:00.000Z'],
    ['2026-01-05T08:15:00.123456Z', '2026-01-05T08:15:00.123Z'],
    ['20260105', '2026-01-05'],
  ])('keeps the instant of the date-time %p as UTC (%p), a day as a day', (raw, expected) => {
    expect(validateRow({ dob: raw }, FIELDS)).toEqual({ ok: true, values: { dob: expected } });
  });

  it.each([
    ['dob', '2015-02-30', 'not a date'],
    ['dob', '2015-10-29T25:00:00', 'not a date'],
    ['dob', '10/29/2015', 'not a date'],
    ['orders', 'three', 'not a number: "three"'],
    ['orders', '0x1F', 'not a number: "0x1F"'],
    ['vip', 'maybe', 'not a boolean: "maybe"'],
    ['phone', '12-34', 'malformed phone'],
  ])('rejects the %s value %p', (field, value, reason) => {
    expect(validateRow({ [field]: value }, FIELDS)).toEqual({ ok: false, field, reason });
  });

  it('reports the first bad field in declaration order', () => {
    const result = validateRow({ dob: 'soon', email: 'bad' }, FIELDS);

    expect(result).toEqual({ ok: false, field: 'email', reason: 'malformed email' });
  });

  it('leaves the input row untouched', () => {
    const row = { email: ' A@Example.org ' };

    validateRow(row, FIELDS);

    expect(row).toEqual({ email: ' A@Example.org ' });
  });
});
