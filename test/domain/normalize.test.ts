import {
  isBlank,
  isValidEmail,
  normalizeDate,
  normalizeDigits,
  parseTimestampMs,
  normalizeEmail,
  normalizeText,
} from '../../domain/normalize';

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

describe('normalizeText', () => {
  it.each([
    ['Julia ', 'julia'],
    ['  Noah   WATSON ', 'noah watson'],
    ['Léa Müller-Ångström', 'lea muller-angstrom'],
    ['Zoë\u00a0\tRenée', 'zoe renee'],
    ['Ｊｏｓé', 'jose'],
    ['ﬁnn', 'finn'],
    ['a\u001fb', 'a b'],
  ])('folds %p to %p', (value, expected) => {
    expect(normalizeText(value)).toBe(expected);
  });

  it.each([
    '',
    '   ',
    'N/A',
    'n/a',
    'NULL',
    'null',
    'None',
    'nil',
    'NA',
    '-',
    '--',
    '-1',
    '0',
    'Unknown',
    ' UNKNOWN ',
    'anonymous',
    'undefined',
  ])('returns undefined for the placeholder %p', (value) => {
    expect(normalizeText(value)).toBeUndefined();
  });

  it('keeps values that merely contain a placeholder word', () => {
    expect(normalizeText('Nancy Null')).toBe('nancy null');
    expect(normalizeText('10')).toBe('10');
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

describe('normalizeEmail', () => {
  it.each([
    [' Hannah88@Powers.COM ', 'hannah88@powers.com'],
    ['patricia47@davis.com', 'patricia47@davis.com'],
    ['tester@example.com', 'tester@example.com'],
  ])('canonicalises %p to %p', (value, expected) => {
    expect(normalizeEmail(value)).toBe(expected);
  });

  it.each([
    'test@example.com',
    'TEST@shop.example',
    'null@example.com',
    'N/A@example.com',
    'unknown@example.com',
    'none@example.com',
    '0@example.com',
    'hannah88opowersc@m',
    '',
    'N/A',
  ])('returns undefined for %p', (value) => {
    expect(normalizeEmail(value)).toBeUndefined();
  });
});

describe('normalizeDigits', () => {
  it.each([
    ['+44 (0)20 7946 0018', '4402079460018'],
    ['555-0142', '5550142'],
    ['1234', '1234'],
  ])('keeps only the digits of %p', (value, expected) => {
    expect(normalizeDigits(value)).toBe(expected);
  });

  it.each(['0000000', '000-000-0000', '1111 1111', '9999', '123', '0', 'n/a', ''])(
    'returns undefined for %p',
    (value) => {
      expect(normalizeDigits(value)).toBeUndefined();
    },
  );
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
