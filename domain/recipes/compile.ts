import type { DatasetKind, Recipe, RecipeLevel } from '../../config/datasets';
import { compileStep, type Step } from './steps';

/** The parts of a dataset's config that recipes read. */
export interface RecipeDataset {
  kind?: DatasetKind;
  recipes?: Recipe[];
  defaultCountry?: string;
}

/**
 * Source-level recipes of a dataset: values of one source's record → values, or null (dropped).
 */
export type SourceRecipes = (
  source: string,
  values: Record<string, string>,
) => Record<string, string> | null;

/** Where a recipe runs when it does not say: golden for profiles, source for events. */
export function levelOf(recipe: Recipe, kind: DatasetKind = 'profiles'): RecipeLevel {
  return recipe.level ?? (kind === 'events' ? 'source' : 'golden');
}

/** The recipes of one level, with their position in the dataset's list. */
export function recipesAt(
  dataset: RecipeDataset,
  level: RecipeLevel,
): Array<{ recipe: Recipe; index: number }> {
  return (dataset.recipes ?? [])
    .map((recipe, index) => ({ recipe, index }))
    .filter(({ recipe }) => levelOf(recipe, dataset.kind) === level);
}

/**
 * Compiles a dataset's source-level recipes, in list order, into one function applied to each
 * staged record's values as the identity engine (or the events materializer) reads them. A
 * recipe limited to some sources skips the others. Throws ConfigError for a bad expression.
 */
export function compileSourceRecipes(dataset: RecipeDataset, name = 'dataset'): SourceRecipes {
  const steps = recipesAt(dataset, 'source').map(({ recipe, index }) => ({
    sources: recipe.sources ? new Set(recipe.sources) : undefined,
    step: compileStep(recipe, {
      where: `datasets.${name}.recipes.${index}`,
      defaultCountry: dataset.defaultCountry,
    }),
  }));
  if (steps.length === 0) return (_source, values) => values;
  return (source, values) => {
    let current: Record<string, string> | null = values;
    for (const { sources, step } of steps) {
      if (sources && !sources.has(source)) continue;
      current = step(current);
      if (current === null) return null;
    }
    return current;
  };
}

/** Whether any source-level recipe of the dataset applies to records of `source`. */
export function hasSourceRecipes(dataset: RecipeDataset, source: string): boolean {
  return recipesAt(dataset, 'source').some(
    ({ recipe }) => !recipe.sources || recipe.sources.includes(source),
  );
}

/** Compiles the golden-level recipes: golden attributes → attributes, or null (left out). */
export function compileGoldenRecipes(dataset: RecipeDataset, name = 'dataset'): Step {
  const steps: Step[] = recipesAt(dataset, 'golden').map(({ recipe, index }) =>
    compileStep(recipe, {
      where: `datasets.${name}.recipes.${index}`,
      defaultCountry: dataset.defaultCountry,
    }),
  );
  return (values) => {
    let current: Record<string, string> | null = values;
    for (const step of steps) {
      current = step(current);
      if (current === null) return null;
    }
    return current;
  };
}

/**
 * What of the recipes decides identity, for the identity hash: the source-level recipes in
 * order. Golden-level recipes are left out, so changing or reordering them only re-prepares.
 */
export function sourceRecipesOf(dataset: RecipeDataset): Recipe[] {
  return recipesAt(dataset, 'source').map(({ recipe }) => recipe);
}
