/**
 * Checks a cron expression as Temporal Schedules read it (five fields, or a macro), so a typo is
 * reported by `braid check` with its path instead of failing later inside `braid schedule`.
 * Returns a reason, or undefined when the expression is fine.
 */
const FIELDS: Array<{ name: string; min: number; max: number; names?: string[] }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (MACROS.includes(text.toLowerCase())) return undefined;
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    return `needs 5 fields (minute hour day month weekday), found ${parts.length}`;
  for (let i = 0; i < 5; i++) {
    const field = FIELDS[i]!;
    for (const item of parts[i]!.split(',')) {
      const problem = itemProblem(item.toLowerCase(), field);
      if (problem) return `${field.name}: ${problem}`;
    }
  }
  return undefined;
}

function itemProblem(item: string, field: (typeof FIELDS)[number]): string | undefined {
  const [range, step, extra] = item.split('/');
  if (extra !== undefined || range === undefined || range === '')
    return `"${item}" is not a cron value`;
  if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `"${step}" is not a step`;
  if (range === '*' || range === '?') return undefined;
  const bounds = range.split('-');
  if (bounds.length > 2) return `"${range}" is not a range`;
  for (const bound of bounds) {
    const value = field.names?.indexOf(bound) ?? -1;
    const n =
      value >= 0
        ? value + (field.name === 'month' ? 1 : 0)
        : /^\d+$/.test(bound)
          ? Number(bound)
          : NaN;
    if (!(n >= field.min && n <= field.max))
      return `"${bound}" is not in ${field.min}-${field.max}`;
  }
  return undefined;
}
