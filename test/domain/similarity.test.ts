import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { jaroWinkler, phoneticCode } from '../../domain/identity/similarity';

const SPLINK_FILE = path.join(__dirname, '../../examples/data/splink/fake_1000.csv');

describe('jaroWinkler', () => {
  // Published examples: Winkler (1990) and the Jaro-Winkler article in Wikipedia.
  it.each([
    ['MARTHA', 'MARHTA', 0.961],
    ['DWAYNE', 'DUANE', 0.84],
    ['DIXON', 'DICKSONX', 0.813],
    ['JELLYFISH', 'SMELLYFISH', 0.896],
  ])('scores %p and %p %p', (a, b, expected) => {
    expect(jaroWinkler(a, b)).toBeCloseTo(expected, 3);
    expect(jaroWinkler(b, a)).toBeCloseTo(expected, 3);
  });

  it('gives 1 for equal strings and 0 when nothing matches or one side is empty', () => {
    expect(jaroWinkler('léa', 'léa')).toBe(1);
    expect(jaroWinkler('', '')).toBe(1);
    expect(jaroWinkler('abc', '')).toBe(0);
    expect(jaroWinkler('abc', 'xyz')).toBe(0);
  });

  it('gives no prefix boost to pairs with a Jaro similarity of 0.7 or less', () => {
    // Jaro("abcdef", "abxyzw") = (2/6 + 2/6 + 1) / 3 = 0.5556; a boost would make it 0.6444.
    expect(jaroWinkler('abcdef', 'abxyzw')).toBeCloseTo(0.5556, 4);
  });

  it('compares code points, so a letter outside the BMP counts once', () => {
    expect(jaroWinkler('a𝒜b', 'a𝒜c')).toBeCloseTo(jaroWinkler('axb', 'axc'), 10);
  });

  it('scores the typo variants of fake_1000 first names above the 0.88 rule threshold', () => {
    const rows: Array<{ first_name: string }> = parse(readFileSync(SPLINK_FILE), { columns: true });
    const names = rows.map((r) => r.first_name.trim().toLowerCase());

    expect(names).toEqual(expect.arrayContaining(['onah', 'moly', 'noah', 'molly']));
    expect(jaroWinkler('onah', 'noah')).toBeGreaterThan(0.88);
    expect(jaroWinkler('moly', 'molly')).toBeGreaterThan(0.88);
    expect(jaroWinkler('julia', 'noah')).toBeLessThan(0.7);
  });
});

describe('phoneticCode', () => {
  // Published examples of the Kölner Phonetik (Postel 1969; German Wikipedia article).
  it.each([
    ['Müller-Lüdenscheidt', '65752682'],
    ['Wikipedia', '3412'],
    ['Breschnew', '17863'],
  ])('codes %p as %p', (name, expected) => {
    expect(phoneticCode(name)).toBe(expected);
  });

  it.each([
    [['Meyer', 'Mayer', 'Maier', 'Meier'], '67'],
    [['Schmidt', 'Schmitt', 'Smith'], '862'],
    [['Christophe', 'Kristof', 'Cristophe'], '47823'],
    [['Philippe', 'Filip', 'Phillip'], '351'],
    [['Catherine', 'Katherine', 'Kathryn'], '4276'],
    [['Mathieu', 'Matthieu'], '62'],
    [['Stéphane', 'Stephane', 'Stefan'], '8236'],
    [['François', 'Francois', 'Françoise'], '37648'],
  ])('gives one code to the spellings %p', (names, expected) => {
    expect(names.map(phoneticCode)).toEqual(names.map(() => expected));
  });

  it('tells apart names that sound different', () => {
    expect(phoneticCode('Hugo')).not.toBe(phoneticCode('Ines'));
    expect(phoneticCode('Taylor')).not.toBe(phoneticCode('Watson'));
  });

  it('ignores case, accents, spaces and punctuation, and gives "" without letters', () => {
    expect(phoneticCode(' JEAN-PIERRE ')).toBe(phoneticCode('jean pierre'));
    expect(phoneticCode('Łukasz')).toBe(phoneticCode('Lukasz'));
    expect(phoneticCode('1234 -')).toBe('');
  });
});
