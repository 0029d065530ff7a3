export { describeSqlTable } from './describe';
export { fullRefreshRun } from './cursor';
export type { SqlTableOptions } from './options';
export { SqlTableReader } from './table-reader';
