import { changedAttributes, chunk, type AttributeValue } from '../../domain/diff';

type Attrs = Record<string, AttributeValue>;

describe('changedAttributes', () => {
  const lastSent: Attrs = {
    email: 'a@example.org',
    city: 'Leeds',
    orders: 3,
    vip: true,
    tags: ['a', 'b'],
  };

  it.each<[string, Attrs, Attrs | undefined, Attrs]>([
    ['nothing when nothing changed', { ...lastSent, tags: ['a', 'b'] }, lastSent, {}],
    ['only the changed value', { ...lastSent, city: 'York' }, lastSent, { city: 'York' }],
    [
      'null for an attribute that is gone',
      { email: 'a@example.org', orders: 3, vip: true, tags: ['a', 'b'] },
      lastSent,
      { city: null },
    ],
    [
      'null for an attribute that became null',
      { ...lastSent, city: null },
      lastSent,
      { city: null },
    ],
    ['nothing for a null that was null before', { x: null }, { x: null }, {}],
    ['nothing for a null that was never sent', { x: null }, {}, {}],
    ['nothing for a null with no previous state', { x: null }, undefined, {}],
    ['nothing for a removed attribute that was null', {}, { x: null }, {}],
    ['every non-null value on first send', { a: 'x', b: null, c: 0 }, undefined, { a: 'x', c: 0 }],
    [
      'an array whose order changed',
      { ...lastSent, tags: ['b', 'a'] },
      lastSent,
      { tags: ['b', 'a'] },
    ],
    [
      'an array that grew',
      { ...lastSent, tags: ['a', 'b', 'c'] },
      lastSent,
      { tags: ['a', 'b', 'c'] },
    ],
    ['an empty array replacing a value', { t: [] }, { t: 'x' }, { t: [] }],
    ['a string that became an array', { t: ['x'] }, { t: 'x' }, { t: ['x'] }],
    ['a number that became its string', { n: '3' }, { n: 3 }, { n: '3' }],
    ['false replacing true', { vip: false }, { vip: true }, { vip: false }],
    ['an empty string replacing null', { s: '' }, { s: null }, { s: '' }],
  ])('returns %s', (_, next, previous, expected) => {
    expect(changedAttributes(next, previous)).toEqual(expected);
  });

  it('treats names of Object.prototype members as ordinary attributes', () => {
    expect(changedAttributes({ constructor: null }, {})).toEqual({});
    expect(changedAttributes({}, { toString: 'x' })).toEqual({ toString: null });
    expect(changedAttributes({ valueOf: 'v' }, { valueOf: 'v' })).toEqual({});
  });

  it('leaves its inputs untouched', () => {
    const next: Attrs = { city: 'York' };
    const previous: Attrs = { city: 'Leeds', gone: 'x' };

    changedAttributes(next, previous);

    expect(next).toEqual({ city: 'York' });
    expect(previous).toEqual({ city: 'Leeds', gone: 'x' });
  });
});

describe('chunk', () => {
  it.each([
    [[1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]],
    [
      [1, 2, 3, 4],
      2,
      [
        [1, 2],
        [3, 4],
      ],
    ],
    [[1, 2], 75, [[1, 2]]],
    [[], 3, []],
  ])('splits %p into chunks of %p', (items, size, expected) => {
    expect(chunk(items, size)).toEqual(expected);
  });
});
