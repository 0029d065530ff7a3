import YAML from 'yaml';

import { ConfigError } from '../../connectors/errors';
import {
  DEFAULT_SEGMENT_GRID,
  DEFAULT_SEGMENT_RULES,
  SegmentRulesSpec,
  buildSegmentGrid,
  parseSegmentsFile,
  segmentOf,
} from '../../domain/rfm';

describe('DEFAULT_SEGMENT_GRID', () => {
  it('gives each of the 36 cells one of eleven segments', () => {
    const cells = DEFAULT_SEGMENT_GRID.cells.flat();

    expect(cells).toHaveLength(36);
    expect(new Set(cells).size).toBe(11);
    expect(DEFAULT_SEGMENT_GRID.names).toEqual(DEFAULT_SEGMENT_RULES.map((rule) => rule.name));
  });

  it.each([
    [6, 6, 'champions'],
    [5, 5, 'champions'],
    [1, 6, 'top_becoming_passive'],
    [2, 5, 'top_becoming_passive'],
    [6, 1, 'new_customers'],
    [1, 1, 'lost'],
    [1, 2, 'lost'],
    [2, 1, 'hibernating'],
    [3, 4, 'needs_attention'],
    [4, 6, 'loyal'],
  ])('puts R %i, FxM %i in %s', (r, fm, segment) => {
    expect(segmentOf(DEFAULT_SEGMENT_GRID, r, fm)).toBe(segment);
  });
});

describe('buildSegmentGrid', () => {
  it('names overlapping and missing cells', () => {
    const rules = [
      { name: 'best', r: [4, 6], fm: [4, 6] } as const,
      { name: 'good', r: [3, 4], fm: [3, 4] } as const,
      { name: 'rest', r: [1, 2], fm: [1, 6] } as const,
    ];

    const build = () => buildSegmentGrid(rules, 6);

    expect(build).toThrow(ConfigError);
    expect(build).toThrow(
      'segments: overlapping cells: R4/FxM4 is in rule 1 (best) and rule 2 (good); cells without ' +
        'a segment: R3/FxM1, R3/FxM2, R3/FxM5, R3/FxM6, R4/FxM1, R4/FxM2, R5/FxM1, R5/FxM2, ' +
        'R5/FxM3, R6/FxM1, R6/FxM2, R6/FxM3',
    );
  });

  it('names a range outside the grid with its rule', () => {
    const rules = [{ name: 'all', r: [1, 7], fm: [1, 6] } as const];

    expect(() => buildSegmentGrid(rules, 6, 'seg.yaml')).toThrow(
      'seg.yaml: rule 1 (all): r 1-7 is not a range in 1-6',
    );
  });

  it('accepts a segment made of two rectangles', () => {
    const rules = [
      { name: 'low', r: [1, 5], fm: [1, 1] } as const,
      { name: 'high', r: [1, 5], fm: [3, 5] } as const,
      { name: 'low', r: [1, 5], fm: [2, 2] } as const,
    ];

    const grid = buildSegmentGrid(rules, 5);

    expect(grid.names).toEqual(['low', 'high']);
    expect(grid.cells.map((row) => row.join(' '))).toEqual(Array(5).fill('low low high high high'));
  });
});

describe('SegmentRulesSpec', () => {
  it('reads scores, "a-b" ranges and pairs from YAML', () => {
    const text = [
      'segments:',
      '  - { name: top, r: "3-4", fm: [3, 4] }',
      '  - { name: rest_low, r: 1-2, fm: 1-4 }',
      '  - { name: rest_high, r: 3-4, fm: 1 }',
      '  - { name: rest_high, r: 3-4, fm: 2 }',
    ].join('\n');

    const spec = SegmentRulesSpec.parse(YAML.parse(text));
    const grid = buildSegmentGrid(spec.segments, 4);

    expect(spec.segments[0]).toEqual({ name: 'top', r: [3, 4], fm: [3, 4] });
    expect(spec.segments[2]).toEqual({ name: 'rest_high', r: [3, 4], fm: [1, 1] });
    expect(grid.cells).toEqual([
      ['rest_low', 'rest_low', 'rest_low', 'rest_low'],
      ['rest_low', 'rest_low', 'rest_low', 'rest_low'],
      ['rest_high', 'rest_high', 'top', 'top'],
      ['rest_high', 'rest_high', 'top', 'top'],
    ]);
  });

  it('refuses a name that would break a CSV cell', () => {
    const parsed = SegmentRulesSpec.safeParse({ segments: [{ name: 'a, b', r: 1, fm: 1 }] });

    expect(parsed.success).toBe(false);
  });
});

describe('parseSegmentsFile', () => {
  const rules = [
    { name: 'best', r: [4, 6], fm: [4, 6] },
    { name: 'rest', r: [1, 6], fm: [1, 3] },
  ];

  it('reads the rules under `segments:` or as a list alone', () => {
    const listed = parseSegmentsFile(
      'segments:\n  - { name: best, r: 4-6, fm: 4-6 }\n  - { name: rest, r: 1-6, fm: 1-3 }\n',
      'a.yaml',
    );
    const bare = parseSegmentsFile(
      '- { name: best, r: [4, 6], fm: [4, 6] }\n- { name: rest, r: [1, 6], fm: [1, 3] }\n',
      'b.yaml',
    );

    expect(listed).toEqual(rules);
    expect(bare).toEqual(rules);
  });

  it.each([
    [
      'bins: 5\nsegments:\n  - { name: all, r: 1-6, fm: 1-6 }\n',
      'c.yaml: Unrecognized key: "bins"',
    ],
    [
      'segments:\n  - { name: all, r: 1-6, fm: 1-6, colour: red }\n',
      'c.yaml: segments.0: Unrecognized key: "colour"',
    ],
    ['segments: [\n', 'c.yaml: invalid YAML'],
  ])('refuses %p, naming the file and where', (text, message) => {
    expect(() => parseSegmentsFile(text, 'c.yaml')).toThrow(message);
  });
});
