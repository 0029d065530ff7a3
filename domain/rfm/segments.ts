import YAML from 'yaml';
import { z } from 'zod';

import { ConfigError } from '../../connectors/errors';

/** An inclusive range of scores, `[low, high]`. */
export type ScoreRange = readonly [number, number];

/** One rectangle of the (R, FxM) grid and the segment its cells belong to. */
export interface SegmentRule {
  name: string;
  r: ScoreRange;
  fm: ScoreRange;
}

/** A validated grid: every (R, FxM) cell of a `bins` × `bins` grid has exactly one segment. */
export interface SegmentGrid {
  readonly bins: number;
  /** Segment names in the order the rules first name them, for stable reports. */
  readonly names: readonly string[];
  /** `cells[r - 1][fm - 1]` is the segment of that cell. */
  readonly cells: readonly (readonly string[])[];
}

/**
 * The default segments for 6 bins: eleven segments over the 36 cells. The FxM columns split
 * into low (1–2), middle (3–4) and high (5–6) value; recency splits the same way for the
 * valuable customers and finer for the low-value ones, where how recently they bought is all
 * that tells a newcomer from a customer who is gone.
 */
export const DEFAULT_SEGMENT_RULES: readonly SegmentRule[] = [
  { name: 'champions', r: [5, 6], fm: [5, 6] },
  { name: 'loyal', r: [3, 4], fm: [5, 6] },
  { name: 'top_becoming_passive', r: [1, 2], fm: [5, 6] },
  { name: 'potential_loyalists', r: [5, 6], fm: [3, 4] },
  { name: 'needs_attention', r: [3, 4], fm: [3, 4] },
  { name: 'at_risk', r: [1, 2], fm: [3, 4] },
  { name: 'new_customers', r: [5, 6], fm: [1, 2] },
  { name: 'promising', r: [4, 4], fm: [1, 2] },
  { name: 'about_to_sleep', r: [3, 3], fm: [1, 2] },
  { name: 'hibernating', r: [2, 2], fm: [1, 2] },
  { name: 'lost', r: [1, 1], fm: [1, 2] },
];

// Names end up in CSV cells, Braze attributes and "a → b" change texts, so they stay plain.
const SEGMENT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

const scoreRange = z.union([
  z
    .number()
    .int()
    .transform((n): ScoreRange => [n, n]),
  z
    .string()
    .regex(/^\s*\d+\s*(-\s*\d+\s*)?$/, 'expected a score or a range such as "5-6"')
    .transform((text): ScoreRange => {
      const [low, high = low] = text.split('-').map((part) => Number(part.trim()));
      return [low as number, high as number];
    }),
  z.tuple([z.number().int(), z.number().int()]).transform((pair): ScoreRange => [pair[0], pair[1]]),
]);

/**
 * The shape of a segments file: `segments:` is a list of `{ name, r, fm }`, where `r` and `fm`
 * are a score (`1`), a range (`"5-6"`) or a pair (`[5, 6]`). A name may appear in several rules
 * when a segment is not a rectangle.
 */
export const SegmentRulesSpec = z
  .object({
    segments: z
      .array(
        z
          .object({
            name: z.string().regex(SEGMENT_NAME, 'use letters, digits and underscores'),
            r: scoreRange,
            fm: scoreRange,
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

/**
 * Reads a segments file: `segments:` with its list, or the list alone (the shape written inline
 * in a dataset's settings). Unknown keys are refused rather than ignored: a `bins: 5` there does
 * nothing, and silence would let the user think it did. Errors name the file and the path.
 */
export function parseSegmentsFile(
  text: string,
  file: string,
): z.infer<typeof SegmentRulesSpec>['segments'] {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ConfigError(`${file}: invalid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`);
  }
  const value: unknown = doc.toJS();
  const parsed = SegmentRulesSpec.safeParse(Array.isArray(value) ? { segments: value } : value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => {
      const where = i.path.length > 0 ? `${i.path.join('.')}: ` : '';
      return `${where}${i.message}`;
    });
    throw new ConfigError(`${file}: ${issues.join('; ')}`);
  }
  return parsed.data.segments;
}

/**
 * Checks that the rules give every cell of the `bins` × `bins` grid exactly one segment and
 * returns the grid. Throws {@link ConfigError} naming every range outside 1..bins, every cell
 * claimed twice (with both rules) and every cell left without a segment; `where` (the file,
 * say) starts the message.
 */
export function buildSegmentGrid(
  rules: readonly SegmentRule[],
  bins: number,
  where = 'segments',
): SegmentGrid {
  const outside = rules.flatMap((rule, i) => rangeProblems(rule, i, bins));
  if (outside.length > 0) throw new ConfigError(`${where}: ${outside.join('; ')}`);

  const owner = Array.from({ length: bins }, () => Array<number | undefined>(bins).fill(undefined));
  const overlaps: string[] = [];
  rules.forEach((rule, i) => {
    for (let r = rule.r[0]; r <= rule.r[1]; r++) {
      for (let fm = rule.fm[0]; fm <= rule.fm[1]; fm++) {
        const row = owner[r - 1] as (number | undefined)[];
        const before = row[fm - 1];
        if (before === undefined) row[fm - 1] = i;
        else overlaps.push(overlap(rules, r, fm, [before, i]));
      }
    }
  });
  const missing = owner.flatMap((row, r) =>
    row.flatMap((i, fm) => (i === undefined ? [cellName(r + 1, fm + 1)] : [])),
  );

  const problems: string[] = [];
  if (overlaps.length > 0) problems.push(`overlapping cells: ${listSome(overlaps)}`);
  if (missing.length > 0) problems.push(`cells without a segment: ${listSome(missing)}`);
  if (problems.length > 0) throw new ConfigError(`${where}: ${problems.join('; ')}`);

  const cells = owner.map((row) => row.map((i) => (rules[i as number] as SegmentRule).name));
  return { bins, names: [...new Set(rules.map((rule) => rule.name))], cells };
}

/** The segment of an (R, FxM) pair of scores. */
export function segmentOf(grid: SegmentGrid, r: number, fm: number): string {
  const name = grid.cells[r - 1]?.[fm - 1];
  if (name === undefined) {
    throw new RangeError(`R ${r}, FxM ${fm} is outside the ${grid.bins}-bin grid`);
  }
  return name;
}

/** The default grid, built (and so checked) once. */
export const DEFAULT_SEGMENT_GRID: SegmentGrid = buildSegmentGrid(DEFAULT_SEGMENT_RULES, 6);

function cellName(r: number, fm: number): string {
  return `R${r}/FxM${fm}`;
}

function overlap(rules: readonly SegmentRule[], r: number, fm: number, both: number[]): string {
  return `${cellName(r, fm)} is in ${both.map((i) => ruleLabel(rules, i)).join(' and ')}`;
}

function ruleLabel(rules: readonly SegmentRule[], index: number): string {
  return `rule ${index + 1} (${(rules[index] as SegmentRule).name})`;
}

function rangeProblems(rule: SegmentRule, index: number, bins: number): string[] {
  const axes = [
    ['r', rule.r],
    ['fm', rule.fm],
  ] as const;
  return axes.flatMap(([axis, [low, high]]) => {
    const ok = Number.isInteger(low) && Number.isInteger(high) && 1 <= low && low <= high;
    if (ok && high <= bins) return [];
    return [`rule ${index + 1} (${rule.name}): ${axis} ${low}-${high} is not a range in 1-${bins}`];
  });
}

// A badly broken grid can leave dozens of cells; name enough of them to act on.
function listSome(items: string[], max = 12): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
