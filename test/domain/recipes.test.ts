import { Recipe } from '../../config/datasets/recipes';
import { compileGoldenRecipes, compileSourceRecipes } from '../../domain/recipes/compile';
import { toCountryCode } from '../../domain/recipes/countries';
import { evaluate, parseExpression } from '../../domain/recipes/expression';
import { normalizeName } from '../../domain/recipes/steps';
import { toUtc } from '../../domain/recipes/zoned-time';

const recipes = (...list: unknown[]) => list.map((r) => Recipe.parse(r));

describe('recipes', () => {
  it.each([
    ['FR', 'FR'],
    ['fra', 'FR'],
    ['France', 'FR'],
    ['  république tchèque ', 'CZ'],
    ['Allemagne', 'DE'],
    ['Germany', 'DE'],
    ['DEU', 'DE'],
    ['USA', 'US'],
    ['United States', 'US'],
    ['États-Unis', 'US'],
    ['UK', 'GB'],
    ['Royaume-Uni', 'GB'],
    ["Côte d'Ivoire", 'CI'],
    ['the Netherlands', 'NL'],
    ['Pays-Bas', 'NL'],
    ['ZZ', undefined],
    ['Atlantis', undefined],
  ])('reads the country %s as %s', (raw, code) => {
    expect(toCountryCode(raw)).toBe(code);
  });

  it.each([
    ['2026-03-29 01:59', 'Europe/Paris', '2026-03-29T00:59:00Z'],
    ['2026-03-29 02:30', 'Europe/Paris', '2026-03-29T01:30:00Z'],
    ['2026-03-29 03:00', 'Europe/Paris', '2026-03-29T01:00:00Z'],
    ['2026-10-25 02:30', 'Europe/Paris', '2026-10-25T00:30:00Z'],
    ['2026-07-01T12:00:00+05:30', 'Europe/Paris', '2026-07-01T06:30:00Z'],
    ['2026-01-15 08:00:00.250', 'America/New_York', '2026-01-15T13:00:00.250Z'],
    ['2026-02-28', 'Asia/Tokyo', '2026-02-28'],
    ['2026-02-30 10:00', 'UTC', undefined],
  ])('converts %s in %s to %s', (raw, zone, utc) => {
    expect(toUtc(raw, zone)).toBe(utc);
  });

  it('reads day-first dates when told so', () => {
    expect(toUtc('31/12/2025 23:30', 'America/New_York', 'dmy')).toBe('2026-01-01T04:30:00Z');
    expect(toUtc('12/31/2025 23:30', 'America/New_York', 'mdy')).toBe('2026-01-01T04:30:00Z');
  });

  it.each([
    ["  JEAN-PIERRE   O'NEIL ", "Jean-Pierre O'Neil"],
    ['marie claire', 'Marie Claire'],
    ['McDonald', 'McDonald'],
  ])('normalizes the name %j', (raw, name) => {
    expect(normalizeName(raw)).toBe(name);
  });

  it('evaluates derive expressions without eval', () => {
    const expression = parseExpression(
      "concat(upper(substring(first_name, 1, 1)), '. ', coalesce(nickname, \"last name\"), '')",
      'test',
    );
    expect(evaluate(expression, { first_name: 'élodie', 'last name': 'Durand' })).toBe('É. Durand');
    expect(() => parseExpression('process.exit(1)', 'datasets.c.recipes.0')).toThrow(
      'datasets.c.recipes.0: unknown function "process.exit" at character 1',
    );
    expect(() => parseExpression("concat(a, 'b'", 'x')).toThrow('expected "," or ")"');
  });

  it('applies source-level recipes in order, per source, and drops rows', () => {
    const dataset = {
      kind: 'profiles' as const,
      defaultCountry: 'FR',
      recipes: recipes(
        {
          type: 'drop',
          level: 'source',
          when: { column: 'status', equals: 'deleted', ignoreCase: true },
        },
        { type: 'email', level: 'source', columns: ['email'] },
        {
          type: 'phone',
          level: 'source',
          columns: ['phone'],
          countryColumn: 'country',
          sources: ['shop'],
        },
        { type: 'country', level: 'source', columns: ['country'] },
        { type: 'trim', columns: ['city'], case: 'upper' },
      ),
    };
    const run = compileSourceRecipes(dataset);
    const row = {
      email: ' Ana@Example.COM ',
      phone: '0470 12 34 56',
      country: 'Belgique',
      city: ' lyon ',
    };

    expect(run('shop', row)).toEqual({
      email: 'ana@example.com',
      phone: '+32470123456',
      country: 'BE',
      city: ' lyon ',
    });
    expect(run('crm', row)!.phone).toBe('0470 12 34 56');
    expect(run('shop', { ...row, status: 'DELETED' })).toBeNull();
    expect(run('shop', { ...row, email: 'not an email' })!.email).toBe('');
    expect(row.email).toBe(' Ana@Example.COM ');
  });

  it('runs golden-level recipes in the order given, so reordering changes the result', () => {
    const map = { type: 'map', columns: ['tier'], values: { g: 'gold' }, otherwise: 'other' };
    const fallback = { type: 'default', column: 'tier', value: 'g' };
    const derive = { type: 'derive', column: 'label', expression: "concat(upper(tier), ':', id)" };

    expect(compileGoldenRecipes({ recipes: recipes(fallback, map, derive) })({ id: '7' })).toEqual({
      id: '7',
      tier: 'gold',
      label: 'GOLD:7',
    });
    expect(compileGoldenRecipes({ recipes: recipes(map, fallback, derive) })({ id: '7' })).toEqual({
      id: '7',
      tier: 'g',
      label: 'G:7',
    });
  });
});
