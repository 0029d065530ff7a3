import type { EventColumns, LinkConfig } from './links';
import type { ScoresConfig } from './scores';

interface DatasetRefs {
  kind: 'profiles' | 'events';
  events?: EventColumns;
  links: Record<string, LinkConfig>;
  scores?: ScoresConfig;
}

/**
 * Problems with links between datasets, as `path: message` texts: a link to an unknown dataset
 * or to one that is not of events, a link column other than the events' customer column, RFM
 * without an amount column, and a sync of an events dataset (events are not profiles to send).
 */
export function checkDatasetLinks(
  datasets: Record<string, DatasetRefs>,
  syncs: Record<string, { dataset: string }>,
): string[] {
  const problems: string[] = [];
  for (const [name, dataset] of Object.entries(datasets)) {
    for (const [linkName, link] of Object.entries(dataset.links)) {
      const path = `datasets.${name}.links.${linkName}`;
      const target = datasets[link.dataset];
      if (!target) {
        problems.push(`${path}.dataset: unknown dataset "${link.dataset}"`);
      } else if (target.kind !== 'events' || !target.events) {
        problems.push(`${path}.dataset: "${link.dataset}" is not an events dataset (kind: events)`);
      } else if (link.column !== undefined && link.column !== target.events.customer) {
        problems.push(
          `${path}.column: "${link.column}" is not the customer column of "${link.dataset}" ` +
            `(events.customer: "${target.events.customer}")`,
        );
      }
    }
    const rfm = dataset.scores?.rfm;
    const target =
      rfm && dataset.links[rfm.link] ? datasets[dataset.links[rfm.link]!.dataset] : undefined;
    if (rfm && target?.events && !rfm.amount && !target.events.amount) {
      problems.push(
        `datasets.${name}.scores.rfm.amount: give the amount column (or events.amount)`,
      );
    }
  }
  for (const [name, sync] of Object.entries(syncs)) {
    if (datasets[sync.dataset]?.kind === 'events') {
      problems.push(
        `syncs.${name}.dataset: "${sync.dataset}" is an events dataset; sync a profiles dataset`,
      );
    }
  }
  return problems;
}
