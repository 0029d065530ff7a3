export { SalesforceReader, type SalesforceReaderOptions } from './reader';
export { braidType, describeSalesforce } from './describe';
export type { SalesforceConnectionOptions, SalesforceCredentials } from './session';
export { soqlDateTime, parseInstant } from './instant';
export { decodeCursor, type SalesforceCursor } from './cursor';
