import type { z } from 'zod';

import type { ComputedField, EventColumns, LinkConfig } from './links';
import type { Recipe } from './recipes';
import type { ScoresConfig } from './scores';

const NO_MATCHES_IN_COMPUTED = 'a computed-field filter takes equals, in or blank, not matches';

/** The dataset fields these checks read (DatasetConfig as parsed). */
interface PreparedDataset {
  kind: 'profiles' | 'events';
  keys: unknown[];
  sources: string[];
  events?: EventColumns;
  recipes: Recipe[];
  links: Record<string, LinkConfig>;
  computed: Record<string, ComputedField>;
  scores?: ScoresConfig;
}

/**
 * Checks within one dataset, run from DatasetConfig's superRefine so problems carry their path:
 * a profiles dataset needs keys, an events dataset needs its columns and has no golden record
 * (so no golden-level recipes, links, computed fields or scores), and computed fields and
 * scores name a declared link.
 */
export function checkPreparation(dataset: PreparedDataset, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (dataset.kind === 'profiles') {
    if (dataset.keys.length === 0) issue(['keys'], 'a profiles dataset needs at least one key');
    if (dataset.events)
      issue(['events'], 'only an events dataset (kind: events) has event columns');
  } else {
    if (!dataset.events) issue(['events'], 'an events dataset needs events: { customer, date }');
    if (dataset.keys.length > 0)
      issue(['keys'], 'an events dataset is not deduplicated: remove keys');
    dataset.recipes.forEach((recipe, i) => {
      if (recipe.level === 'golden')
        issue(['recipes', i, 'level'], 'an events dataset has no golden records');
    });
    for (const part of ['links', 'computed'] as const) {
      if (Object.keys(dataset[part]).length > 0)
        issue([part], 'belongs on the profiles dataset that links here');
    }
    if (dataset.scores) issue(['scores'], 'belongs on the profiles dataset that links here');
  }
  dataset.recipes.forEach((recipe, i) => {
    if (recipe.sources && recipe.level !== 'source' && dataset.kind === 'profiles') {
      issue(
        ['recipes', i, 'sources'],
        'only source-level recipes (level: source) can name sources',
      );
    }
    for (const source of recipe.sources ?? []) {
      if (!dataset.sources.includes(source))
        issue(['recipes', i, 'sources'], `"${source}" does not feed this dataset`);
    }
  });
  for (const [name, field] of Object.entries(dataset.computed)) {
    if (!dataset.links[field.link]) issue(['computed', name, 'link'], `no link "${field.link}"`);
    // Computed fields filter in SQL, where a JavaScript regular expression has no portable
    // equivalent (SQLite has no REGEXP; PostgreSQL's ~ has another syntax).
    if (field.where?.matches !== undefined) {
      issue(['computed', name, 'where', 'matches'], NO_MATCHES_IN_COMPUTED);
    }
  }
  const rfm = dataset.scores?.rfm;
  if (rfm && !dataset.links[rfm.link]) issue(['scores', 'rfm', 'link'], `no link "${rfm.link}"`);
}
