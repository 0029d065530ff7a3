import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { DatasetConfig } from '../../config/schema';
import {
  defaultCustomerRules,
  inferIdentityRules,
  rulesToYaml,
} from '../../domain/identity/infer-rules';

const DATA = path.join(__dirname, '../../examples/data');

/** A CSV file as the CSV reader hands it over: trimmed header names, untrimmed values. */
function readFile(relative: string) {
  const rows: Array<Record<string, string>> = parse(readFileSync(path.join(DATA, relative)), {
    columns: (header: string[]) => header.map((name) => name.trim()),
  });
  return { headers: Object.keys(rows[0]!), rows };
}

const defaults = { providerRules: false, stripAccents: true, blocked: [] };

describe('inferIdentityRules', () => {
  it('infers the keys and rules of splink fake_1000.csv', () => {
    const { headers, rows } = readFile('splink/fake_1000.csv');

    const inferred = inferIdentityRules(headers, rows);

    expect(headers).toEqual([
      'unique_id',
      'first_name',
      'surname',
      'dob',
      'city',
      'email',
      'cluster',
    ]);
    expect(inferred.keys).toEqual([
      { name: 'email', columns: ['email'], normalize: 'email', ...defaults },
      {
        name: 'name_dob',
        columns: ['first_name', 'surname', 'dob'],
        normalize: 'text',
        ...defaults,
      },
    ]);
    expect(inferred.rules).toEqual([
      { name: 'exact', keys: ['email', 'name_dob'] },
      {
        name: 'fuzzy_name',
        block: ['dob'],
        compare: [
          { column: 'surname', method: 'jaro_winkler', threshold: 0.92 },
          { column: 'first_name', method: 'jaro_winkler', threshold: 0.88 },
        ],
      },
    ]);
    expect(inferred.recordKey).toBe('unique_id');
    expect(inferred.explanation).toContain('Not used: "city", "cluster".');
  });

  it('infers the keys and rules of febrl dataset1.csv', () => {
    const { headers, rows } = readFile('febrl/dataset1.csv');

    const inferred = inferIdentityRules(headers, rows);

    expect(inferred.keys).toEqual([
      {
        name: 'soc_sec_id',
        columns: ['soc_sec_id'],
        normalize: 'digits',
        maxValues: 1,
        ...defaults,
      },
      {
        name: 'name_dob',
        columns: ['given_name', 'surname', 'date_of_birth'],
        normalize: 'text',
        ...defaults,
      },
      {
        name: 'name_postcode',
        columns: ['given_name', 'surname', 'postcode'],
        normalize: 'text',
        ...defaults,
      },
    ]);
    expect(inferred.rules).toEqual([
      { name: 'exact', keys: ['soc_sec_id', 'name_dob', 'name_postcode'] },
      {
        name: 'fuzzy_name',
        block: ['date_of_birth'],
        compare: [
          { column: 'surname', method: 'jaro_winkler', threshold: 0.92 },
          { column: 'given_name', method: 'jaro_winkler', threshold: 0.88 },
        ],
      },
    ]);
    expect(inferred.recordKey).toBe('rec_id');
  });

  it('reads French headers and common variants', () => {
    const headers = [
      'N° client',
      'Prénom',
      'Nom',
      'Courriel',
      'Téléphone',
      'Date de naissance',
      'Code postal',
    ];

    const inferred = inferIdentityRules(headers, []);

    expect(inferred.keys.map((k) => [k.name, k.columns, k.normalize, k.maxValues])).toEqual([
      ['email', ['Courriel'], 'email', undefined],
      ['phone', ['Téléphone'], 'phone', undefined],
      ['n_client', ['N° client'], 'text', 1],
      ['name_dob', ['Prénom', 'Nom', 'Date de naissance'], 'text', undefined],
      ['name_postcode', ['Prénom', 'Nom', 'Code postal'], 'text', undefined],
    ]);
    expect(inferred.explanation).toContain(
      'Phones without a + or 00 prefix are not read: set defaultCountry.',
    );
  });

  it('recognises emails and phones by their values whatever the column is called', () => {
    const rows = [
      ['hugo@bistro-lune.example', '06 11 11 11 11', 'Hugo Martin', '2021-03-04'],
      ['ines@bistro-lune.example', '06 22 22 22 22', 'Inès Petit', '2021-05-06'],
      ['lea@shop.example', '07 81 23 45 67', 'Léa Durand', '2022-01-02'],
      ['paul@shop.example', '+44 20 7946 0958', 'Paul Smith', '2022-02-03'],
      ['marc@shop.example', '01 45 67 89 01', 'Marc Roux', '2022-03-04'],
      ['not an email', '', 'Anne Blanc', '2022-04-05'],
    ].map(([contact, numero, name, created]) => ({ contact, numero, name, created }));

    const inferred = inferIdentityRules(['contact', 'numero', 'name', 'created'], rows, {
      defaultCountry: 'FR',
    });

    expect(inferred.keys.map((k) => [k.name, k.columns, k.normalize])).toEqual([
      ['email', ['contact'], 'email'],
      ['phone', ['numero'], 'phone'],
    ]);
    expect(inferred.rules).toEqual([{ name: 'exact', keys: ['email', 'phone'] }]);
    expect(inferred.explanation).toEqual(
      expect.arrayContaining([
        '"contact" holds emails (83% of its values).',
        '"numero" holds phone numbers (100% of its values).',
        '"created" holds dates, but its name does not say birth date: not used.',
      ]),
    );
  });

  it('drops a column named like an email column whose values are not emails', () => {
    const rows = ['yes', 'no', 'yes', 'yes', 'no', 'a@b.example'].map((email) => ({ email }));

    const inferred = inferIdentityRules(['email'], rows);

    expect(inferred.keys).toEqual([]);
    expect(inferred.explanation).toEqual([
      '"email": named like email, but only 17% of its values fit.',
      'Not used: "email".',
      'No identifier column found: give --rules.',
    ]);
  });

  it('uses a full name column when first and last names are not separate', () => {
    const inferred = inferIdentityRules(['name', 'birth_date', 'zip'], []);

    expect(inferred.keys.map((k) => [k.name, k.columns])).toEqual([
      ['name_dob', ['name', 'birth_date']],
      ['name_postcode', ['name', 'zip']],
    ]);
    expect(inferred.rules).toEqual([{ name: 'exact', keys: ['name_dob', 'name_postcode'] }]);
  });
});

describe('defaultCustomerRules', () => {
  it('adds the fuzzy rule only when first name, last name and birth date columns exist', () => {
    expect(defaultCustomerRules(['email'], { firstName: 'first', lastName: 'last' })).toEqual([
      { name: 'exact', keys: ['email'] },
    ]);
    expect(defaultCustomerRules([], { firstName: 'f', lastName: 'l', dob: 'd' })).toEqual([
      {
        name: 'fuzzy_name',
        block: ['d'],
        compare: [
          { column: 'l', method: 'jaro_winkler', threshold: 0.92 },
          { column: 'f', method: 'jaro_winkler', threshold: 0.88 },
        ],
      },
    ]);
  });
});

describe('rulesToYaml', () => {
  it('prints keys and rules that the dataset schema reads back unchanged', () => {
    const { headers, rows } = readFile('febrl/dataset1.csv');
    const inferred = inferIdentityRules(headers, rows);

    const yaml = rulesToYaml(inferred);
    const dataset = DatasetConfig.parse({ sources: ['febrl'], ...parseYaml(yaml) });

    expect(dataset.keys).toEqual(inferred.keys);
    expect(dataset.rules).toEqual(inferred.rules);
  });

  it('leaves defaults out, writes name lists inline and explains in comments', () => {
    const { headers, rows } = readFile('splink/fake_1000.csv');

    const yaml = rulesToYaml(inferIdentityRules(headers, rows));

    expect(yaml).toBe(
      [
        '# "unique_id" is the file\'s record id: it names rows, not people.',
        '# Key email: "email", normalized as email.',
        '# Key name_dob: "first_name" + "surname" + "dob", normalized as text.',
        '# Rule fuzzy_name: same "dob", "surname" Jaro-Winkler >= 0.92 and "first_name" >= 0.88.',
        '# Not used: "city", "cluster".',
        '',
        'keys:',
        '  - name: email',
        '    columns: [ email ]',
        '    normalize: email',
        '  - name: name_dob',
        '    columns: [ first_name, surname, dob ]',
        'rules:',
        '  - name: exact',
        '    keys: [ email, name_dob ]',
        '  - name: fuzzy_name',
        '    block: [ dob ]',
        '    compare:',
        '      - column: surname',
        '        method: jaro_winkler',
        '        threshold: 0.92',
        '      - column: first_name',
        '        method: jaro_winkler',
        '        threshold: 0.88',
        '',
      ].join('\n'),
    );
  });
});
