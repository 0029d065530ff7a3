import {
  isSupportedPhoneCountry,
  keyNormalizer,
  normalizeDateKey,
  normalizeDigitsKey,
  normalizeEmailKey,
  normalizePhone,
  normalizeTextKey,
} from '../../domain/identity/normalizers';

describe('normalizePhone', () => {
  it.each([
    ['+33 6 12 34 56 78', undefined, '+33612345678'],
    ['0033 6 12 34 56 78', undefined, '+33612345678'],
    ['(00) 33 6 12 34 56 78', undefined, '+33612345678'],
    ['06.12.34.56.78', 'FR', '+33612345678'],
    ['06 12 34 56 78', 'fr', '+33612345678'],
    ['+33 (0)6 12 34 56 78', undefined, '+33612345678'],
    ['+44 20 7946 0958', undefined, '+442079460958'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+44 20 7946 0958', 'FR', '+442079460958'],
    ['(415) 555-2671', 'US', '+14155552671'],
    ['04 12 345 678', 'AU', '+61412345678'],
    ['+33 6 11 11 11 11', undefined, '+33611111111'],
  ])('reads %p (default country %p) as %p', (raw, country, expected) => {
    expect(normalizePhone(raw, country)).toBe(expected);
  });

  it.each([
    ['06 12 34 56 78', undefined, 'a national number without a default country'],
    ['', 'FR', 'a blank value'],
    ['n/a', 'FR', 'text'],
    ['+33 0 12 34 56 78', undefined, 'a French number starting with 0 after the country code'],
    ['+33 6 12', undefined, 'a number too short'],
    ['07 12 34 56 71', 'FR', 'a mobile range no French operator was given'],
    ['0000000000', 'FR', 'all zeros'],
    ['+33 1 11 11 11 11', undefined, 'every national digit the same'],
    ['0123456789', 'FR', 'an ascending run'],
    ['+1 234 567 8901', undefined, 'an ascending run wrapping from 9 to 0'],
    ['987654321', 'FR', 'a descending run'],
  ])('rejects %p (default country %p): %s', (raw, country, _why) => {
    expect(normalizePhone(raw, country)).toBeUndefined();
  });

  it('refuses a default country libphonenumber does not know', () => {
    expect(isSupportedPhoneCountry('fr')).toBe(true);
    expect(isSupportedPhoneCountry('XX')).toBe(false);
    expect(() => normalizePhone('0612345678', 'XX')).toThrow('unknown default country "XX"');
  });
});

describe('normalizeEmailKey', () => {
  it('trims and lower-cases a valid address and keeps dots and tags without provider rules', () => {
    expect(normalizeEmailKey('  Jane.Doe+news@GMail.com ')).toBe('jane.doe+news@gmail.com');
  });

  it.each(['', 'jane', 'jane@', '@gmail.com', 'hannah88opowersc@m', 'jane doe@gmail.com'])(
    'rejects the malformed address %p',
    (raw) => {
      expect(normalizeEmailKey(raw, { providerRules: true })).toBeUndefined();
    },
  );

  it.each([
    ['Jane.Doe+news@gmail.com', 'janedoe@gmail.com'],
    ['j.a.n.e.doe@googlemail.com', 'janedoe@gmail.com'],
    ['jane+fr@outlook.fr', 'jane@outlook.fr'],
    ['jane.doe+shop@icloud.com', 'jane.doe@icloud.com'],
    ['jane.doe+x@proton.me', 'jane.doe@proton.me'],
    ['jane.doe+x@bistro-lune.example', 'jane.doe+x@bistro-lune.example'],
    ['jane.doe-x@yahoo.com', 'jane.doe-x@yahoo.com'],
    ['+news@gmail.com', undefined],
  ])('applies provider rules to %p', (raw, expected) => {
    expect(normalizeEmailKey(raw, { providerRules: true })).toBe(expected);
  });
});

describe('normalizeTextKey', () => {
  it.each([
    ['  Léa  ', 'lea'],
    ['DU  PONT', 'du pont'],
    ['Łukasz Żółć', 'lukasz zolc'],
    ['Søren Kierkegaard', 'soren kierkegaard'],
    ['STRAẞE', 'strasse'],
    ['Straße', 'strasse'],
    ['Œuvray', 'oeuvray'],
    ['anne\u001fmarie\tsmith\r\n', 'anne marie smith'],
    ['ﬁnn', 'finn'],
  ])('folds %p to %p', (raw, expected) => {
    expect(normalizeTextKey(raw)).toBe(expected);
  });

  it('keeps accents when asked, in one composed form', () => {
    expect(normalizeTextKey(' LÉA ', { stripAccents: false })).toBe('léa');
    expect(normalizeTextKey('Le\u0301a', { stripAccents: false })).toBe('léa');
  });

  it.each(['', '   ', '\u0000\t'])('gives nothing for the blank %p', (raw) => {
    expect(normalizeTextKey(raw)).toBeUndefined();
  });
});

describe('normalizeDateKey and normalizeDigitsKey', () => {
  it.each([
    ['2015-10-29', '2015-10-29'],
    [' 19081209', '1908-12-09'],
    ['29/10/2015', '2015-10-29'],
    ['2015-10-29T10:00:00Z', '2015-10-29'],
    ['2015-02-30', undefined],
    ['19990231', undefined],
    ['not a date', undefined],
  ])('reads the date %p as %p', (raw, expected) => {
    expect(normalizeDateKey(raw)).toBe(expected);
  });

  it('keeps digits only', () => {
    expect(normalizeDigitsKey(' 698-80 48 ')).toBe('6988048');
    expect(normalizeDigitsKey('n/a')).toBeUndefined();
  });
});

describe('keyNormalizer', () => {
  it('applies the options of the key it is built for', () => {
    const email = keyNormalizer({ normalize: 'email', providerRules: true });
    const phone = keyNormalizer({ normalize: 'phone' }, 'FR');
    const text = keyNormalizer({ normalize: 'text', stripAccents: false });

    expect(email('J.Doe@gmail.com')).toBe('jdoe@gmail.com');
    expect(phone('06 12 34 56 78')).toBe('+33612345678');
    expect(text(' Léa ')).toBe('léa');
    expect(keyNormalizer({ normalize: 'date' })('19081209')).toBe('1908-12-09');
    expect(keyNormalizer({ normalize: 'digits' })('a1b2')).toBe('12');
  });
});
