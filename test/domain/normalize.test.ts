import {
  isBlank,
  isValidEmail,
  normalizeDate,
  parseDecimal,
  parseTimestampMs,
} from '../../domain/normalize';

describe('parseDecimal', () => {
  it.each([
    ['12', 12],
    [' 12.50 ', 12.5],
    ['-3', -3],
    ['+4.', 4],
    ['.5', 0.5],
    ['1e3', 1000],
    ['2.5E-2', 0.025],
  ])('reads %p as %p', (text, expected) => {
    expect(parseDecimal(text)).toBe(expected);
  });

  it.each([
    '',
    ' ',
    '0x1F',
    '0b11',
    '0o7',
    'Infinity',
    '-Infinity',
    'NaN',
    '1_000',
    '12,50',
    '1 000',
    '1.2.3',
    'e3',
    '+',
  ])('refuses %p, which Number() would read or read as 0', (text) => {
    expect(parseDecimal(text)).toBeUndefined();
  });
});

describe('isBlank', () => {
  it.each([
    [null, true],
    [undefined, true],
    ['', true],
    [' \t\n', true],
    ['N/A', false],
    [' a ', false],
  ])('treats %p as blank: %p', (value, expected) => {
    expect(isBlank(value)).toBe(expected);
  });
});

describe('isValidEmail', () => {
  it.each([
    ['hannah88@powers.com', true],
    [' matthew78@ballard-mcdonald.net ', true],
    ['first.last+tag@sub.example.co.uk', true],
    ['hannah88opowersc@m', false],
    ['matthbw78eallard-mcdonald.net', false],
    ['a@b', false],
    ['a b@example.com', false],
    ['a@@example.com', false],
    ['a@-example.com', false],
    ['a@example-.com', false],
    ['a@example.c', false],
    ['@example.com', false],
  ])('judges %p valid: %p', (value, expected) => {
    expect(isValidEmail(value)).toBe(expected);
  });
});

describe('normalizeDate', () => {
  it.each([
    ['2015-10-29', '2015-10-29'],
    [' 2015-10-29 ', '2015-10-29'],
    ['2015-10-29T10:00:00Z', '2015-10-29'],
    ['2015-10-29 10:00', '2015-10-29'],
    ['19081209', '1908-12-09'],
    ['29/10/2015', '2015-10-29'],
    ['1/2/2015', '2015-02-01'],
    ['29/02/2016', '2016-02-29'],
  ])('reads %p as %p', (value, expected) => {
    expect(normalizeDate(value)).toBe(expected);
  });

  it.each([
    '2015-02-30',
    '2015-13-01',
    '29/02/2015',
    '10/29/2015',
    '2015/10/29',
    '1510-29',
    'yesterday',
    '',
  ])('returns undefined for %p', (value) => {
    expect(normalizeDate(value)).toBeUndefined();
  });
});

describe('parseTimestampMs', () => {
  test.each([
    ['2026-03-01T08:15:00.000Z', Date.UTC(2026, 2, 1, 8, 15)],
    ['2026-03-01T09:15:00+01:00', Date.UTC(2026, 2, 1, 8, 15)],
    ['2026-03-01T09:15:00+0100', Date.UTC(2026, 2, 1, 8, 15)],
    ['2026-03-01 08:15:00', Date.UTC(2026, 2, 1, 8, 15)],
    ['2026-03-01T08:15', Date.UTC(2026, 2, 1, 8, 15)],
    ['2026-03-01', Date.UTC(2026, 2, 1)],
    ['2026-03-01T08:15:00.1234567Z', Date.UTC(2026, 2, 1, 8, 15, 0, 123)],
  ])('reads %s as the same instant on every machine', (text, expected) => {
    expect(parseTimestampMs(text)).toBe(expected);
  });

  test.each(['7', 'hello 1', '2026-02-30', '2026-03-01T25:00', '03/01/2026', ''])(
    'refuses %p',
    (text) => {
      expect(parseTimestampMs(text)).toBeUndefined();
    },
  );
});
