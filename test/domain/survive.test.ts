import { SurvivorshipConfig } from '../../config/schema';
import { surviveGolden, type SurviveMember } from '../../domain/identity/survive';

const RULES = [
  'most_recent',
  'most_recent_non_null',
  'source_priority',
  'first_seen',
  'max',
  'min',
  'union',
] as const;

const config = SurvivorshipConfig.parse({
  default: 'most_recent',
  columns: {
    a: 'most_recent_non_null',
    b: 'source_priority',
    c: 'first_seen',
    d: 'max',
    e: 'min',
    f: 'union',
  },
  sourcePriority: ['crm'],
});

describe('surviveGolden', () => {
  it('gives a record alone its own values, blanks as empty, extremes and unions trimmed', () => {
    const alone: SurviveMember = {
      id: 7,
      source: 'shop',
      recencyMs: 1000,
      values: {
        name: ' Ana ',
        a: '  ',
        b: 'x',
        c: '',
        d: ' 12 ',
        e: '2024-01-02 ',
        f: ' vip ',
        g: '',
      },
    };
    expect(surviveGolden([alone], config)).toEqual({
      name: ' Ana ',
      a: '',
      b: 'x',
      c: '',
      d: '12',
      e: '2024-01-02',
      f: '["vip"]',
      g: '',
    });
  });

  it('keeps columns named like built-ins (constructor, __proto__) as columns, by the default rule', () => {
    const values = JSON.parse('{"__proto__":"x","constructor":" ","toString":"t"}') as Record<
      string,
      string
    >;
    const older: SurviveMember = { id: 1, source: 'crm', recencyMs: 1, values };
    const newer: SurviveMember = {
      id: 2,
      source: 'crm',
      recencyMs: 2,
      values: { email: 'a@x.org' },
    };
    expect(JSON.stringify(surviveGolden([older], config))).toBe(
      '{"__proto__":"x","constructor":" ","toString":"t"}',
    );
    expect(JSON.stringify(surviveGolden([older, newer], config))).toBe(
      '{"email":"a@x.org","__proto__":"x","constructor":" ","toString":"t"}',
    );
  });

  it('gives a record alone what the general path gives it beside a member with no values', () => {
    // The member with no values changes nothing, but sends the record down the path that sorts
    // and filters members for every column.
    const samples = ['', ' ', 'x', ' x ', '12', '-3.5', '2024-01-02', 'null', 'Ana Lopez'];
    for (const rule of RULES) {
      const everyRule = SurvivorshipConfig.parse({ default: rule, sourcePriority: ['crm'] });
      const values = Object.fromEntries(samples.map((v, i) => [`c${i}`, v]));
      const record: SurviveMember = { id: 5, source: 'shop', recencyMs: 2000, values };
      const empty: SurviveMember = { id: 1, source: 'crm', recencyMs: 1000, values: {} };
      expect(surviveGolden([record], everyRule)).toEqual(surviveGolden([record, empty], everyRule));
    }
  });

  it('picks each column by its rule across members', () => {
    const older: SurviveMember = {
      id: 1,
      source: 'crm',
      recencyMs: 1000,
      values: { name: 'Ana', a: 'old', b: 'crm-b', c: 'first', d: '9', e: '5', f: 'vip' },
    };
    const newer: SurviveMember = {
      id: 2,
      source: 'shop',
      recencyMs: 2000,
      values: { name: 'Ana L', a: ' ', b: 'shop-b', c: 'second', d: '10', e: '11', f: 'new' },
    };
    expect(surviveGolden([newer, older], config)).toEqual({
      name: 'Ana L',
      a: 'old',
      b: 'crm-b',
      c: 'first',
      d: '10',
      e: '5',
      f: '["vip","new"]',
    });
  });
});
