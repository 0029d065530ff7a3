import type { MatchKey } from '../../config/schema';
import { matchKeyValues } from '../../domain/match-keys';

const SEP = '\u001f';

/** The keys of examples/eshop/braid.yaml. */
const ESHOP_KEYS: MatchKey[] = [
  { name: 'email', columns: ['email'], normalize: 'email' },
  { name: 'name_dob', columns: ['first_name', 'surname', 'dob'], normalize: 'text' },
];

describe('matchKeyValues', () => {
  it('emits every key whose columns all have usable values', () => {
    const row = {
      first_name: 'Julia ',
      surname: 'Taylor',
      dob: '2015-07-31',
      email: 'hannah88@powers.com',
    };

    const keys = matchKeyValues(row, ESHOP_KEYS);

    expect(keys).toEqual([
      'email=hannah88@powers.com',
      `name_dob=julia${SEP}taylor${SEP}2015-07-31`,
    ]);
  });

  it.each([
    ['a blank column', { first_name: 'Julia ', surname: '', dob: '2015-10-29' }],
    ['a whitespace column', { first_name: 'Julia ', surname: '   ', dob: '2015-10-29' }],
    ['a missing column', { first_name: 'Julia ', dob: '2015-10-29' }],
    ['a placeholder column', { first_name: 'Julia ', surname: 'N/A', dob: '2015-10-29' }],
    ['a zero column', { first_name: '0', surname: 'Taylor', dob: '2015-10-29' }],
  ])('drops a compound key with %s', (_, row) => {
    expect(matchKeyValues(row, ESHOP_KEYS)).toEqual([]);
  });

  it.each(['', 'N/A', 'null', 'unknown', 'test@example.com', 'hannah88opowersc@m'])(
    'emits no email key for %p',
    (email) => {
      expect(matchKeyValues({ email }, ESHOP_KEYS)).toEqual([]);
    },
  );

  it('folds accents, case and spaces so spellings of one name give one key', () => {
    const a = { first_name: ' Léa ', surname: 'DU  PONT', dob: '2001-02-03' };
    const b = { first_name: 'lea', surname: 'Du Pont', dob: '2001-02-03' };

    expect(matchKeyValues(a, ESHOP_KEYS)).toEqual([`name_dob=lea${SEP}du pont${SEP}2001-02-03`]);
    expect(matchKeyValues(b, ESHOP_KEYS)).toEqual(matchKeyValues(a, ESHOP_KEYS));
  });

  it('keeps compound parts apart so shifting a space between columns changes the key', () => {
    const keys: MatchKey[] = [{ name: 'full', columns: ['a', 'b'], normalize: 'text' }];

    const left = matchKeyValues({ a: 'anne marie', b: 'smith' }, keys);
    const right = matchKeyValues({ a: 'anne', b: 'marie smith' }, keys);
    const controlChars = matchKeyValues({ a: 'anne\u001fmarie', b: 'smith' }, keys);
    const controlShifted = matchKeyValues({ a: 'anne', b: 'marie\u001fsmith' }, keys);

    expect(left).not.toEqual(right);
    expect(controlChars).not.toEqual(controlShifted);
  });

  it.each([
    ['+44 20 7946 0018', ['phone=442079460018']],
    ['020-7946-0018', ['phone=02079460018']],
    ['0000000000', []],
    ['555 555 5555 5', []],
    ['n/a', []],
  ])('normalizes the phone %p with digits to %p', (phone, expected) => {
    const keys: MatchKey[] = [{ name: 'phone', columns: ['phone'], normalize: 'digits' }];

    expect(matchKeyValues({ phone }, keys)).toEqual(expected);
  });

  it('normalizes date keys so two spellings of one day match', () => {
    const keys: MatchKey[] = [{ name: 'dob', columns: ['dob'], normalize: 'date' }];

    expect(matchKeyValues({ dob: '29/10/2015' }, keys)).toEqual(['dob=2015-10-29']);
    expect(matchKeyValues({ dob: '20151029' }, keys)).toEqual(['dob=2015-10-29']);
    expect(matchKeyValues({ dob: '2015-02-30' }, keys)).toEqual([]);
  });

  it('prefixes the key name so one value under two keys gives two keys', () => {
    const keys: MatchKey[] = [
      { name: 'home', columns: ['home'], normalize: 'digits' },
      { name: 'work', columns: ['work'], normalize: 'digits' },
    ];

    expect(matchKeyValues({ home: '5550142', work: '5550142' }, keys)).toEqual([
      'home=5550142',
      'work=5550142',
    ]);
  });
});
