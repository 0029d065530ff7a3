/** RFM scoring: aggregates per customer, tie-aware scores, segments and historical RFM. */
export * from './aggregate';
export * from './days';
export * from './history';
export * from './score';
export * from './segments';
