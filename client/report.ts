import type { RunReport } from '../activities';

/**
 * Prints a run report for people, then (with --json) the report as one JSON line, last.
 * `profilesRenamed` is optional here for reports kept from before renames existed.
 */
export function printReport(
  report: RunReport & { profilesRenamed?: number },
  opts: { json: boolean; uiUrl?: string; namespace?: string },
): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('');
  out(`Sync ${report.sync}: ${report.status} in ${(report.durationMs / 1000).toFixed(1)} s`);
  out(`  records read        ${report.recordsRead} (${report.recordsRejected} rejected)`);
  out(
    `  golden records      ${report.goldenRecords} (${report.goldenCreated} new, ${report.goldenMerged} merged)`,
  );
  if (report.goldenSplit + report.goldenRetired > 0) {
    out(`  golden changes      ${report.goldenSplit} split, ${report.goldenRetired} retired`);
  }
  if (report.recordsAmbiguous > 0) {
    out(`  ambiguous records   ${report.recordsAmbiguous} held back (not merged, not sent):`);
    for (const a of report.ambiguous.slice(0, 10)) out(`    ${a.record}: ${a.reason}`);
  }
  if (report.mergesRefused > 0)
    out(`  merges refused      ${report.mergesRefused} (key limits, locked clusters)`);
  if (report.unifyMode === 'full')
    out(
      `  identity rebuilt    ${report.recordsUnified} records re-clustered (first run, or rules changed)`,
    );
  if ((report.recordsPrepared ?? 0) > 0) {
    const recomputed = report.customersRecomputed < 0 ? 'all' : String(report.customersRecomputed);
    const detail = report.customersRecomputed === 0 ? '' : `, customers recomputed: ${recomputed}`;
    out(
      `  prepared records    ${report.recordsPrepared} (${report.preparedChanged} changed${detail})`,
    );
  }
  out(`  profiles to update  ${report.recordsPlanned}`);
  out(`  requests sent       ${report.requestsSent}`);
  out(`  attributes sent     ${report.attributesSent}`);
  if (report.profilesMerged + report.profilesDeleted > 0) {
    out(`  profiles merged     ${report.profilesMerged}, deleted ${report.profilesDeleted}`);
  }
  if ((report.profilesRenamed ?? 0) > 0) {
    out(`  profiles renamed    ${report.profilesRenamed} (external id changed, history kept)`);
  }
  const purchases = [
    report.purchasesSent,
    report.purchasesRejected,
    report.purchasesDeferred,
    report.purchasesUnmatched ?? 0,
  ];
  const events = [
    report.eventsSent,
    report.eventsRejected,
    report.eventsDeferred,
    report.eventsUnmatched ?? 0,
  ];
  if ([...purchases, ...events].some((n) => n > 0)) {
    // Unmatched: no golden record holds the customer key yet; they go once one does.
    const line = ([sent, rejected, deferred, unmatched]: number[]) =>
      `${sent} sent, ${rejected} rejected, ${deferred} deferred, ${unmatched} without a customer`;
    out(`  purchases           ${line(purchases)}`);
    out(`  custom events       ${line(events)}`);
  }
  if (report.dataPointsWritten !== null) out(`  data points written ${report.dataPointsWritten}`);
  if (report.error) out(`  error               ${report.error}`);
  const shown = report.rejections.slice(0, 10);
  if (shown.length > 0) {
    out('  rejected rows:');
    for (const r of shown) {
      const where = r.file ? `${r.file}:${r.line}` : (r.record ?? '');
      out(`    ${where}${r.field ? ` [${r.field}]` : ''} ${r.reason}`);
    }
    if (report.rejections.length > shown.length)
      out(`    ... ${report.rejections.length - shown.length} more in the JSON report`);
  }
  if (opts.uiUrl) {
    const ns = opts.namespace ?? 'default';
    out(
      `  Temporal UI         ${opts.uiUrl}/namespaces/${ns}/workflows/${encodeURIComponent(report.workflowId)}`,
    );
  }
  if (opts.json) out(JSON.stringify(report));
}
